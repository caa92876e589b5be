"""What the descriptive video model (Pegasus) says about a video."""

from __future__ import annotations

from pydantic import Field

from milkmobs.domain.base import DomainModel


class Highlight(DomainModel):
    """A timestamped moment of the video."""

    start_seconds: float = Field(ge=0)
    end_seconds: float = Field(ge=0)
    description: str


class Insights(DomainModel):
    """Structured description of one video.

    ``product_mentioned`` is None when the video has no usable audio track.
    """

    participation_score: float = Field(ge=0.0, le=1.0, description="How clearly the video takes part in the campaign")
    product_shown: bool
    product_mentioned: bool | None = None
    action_aligned: bool
    rationale: str = ""
    highlights: list[Highlight] = Field(default_factory=list)
    detected_text: list[str] = Field(default_factory=list, description="Spoken or otherwise detected text")
    on_screen_text: list[str] = Field(default_factory=list, description="Text visible in frames (OCR)")
    actions: list[str] = Field(default_factory=list)
    objects: list[str] = Field(default_factory=list)
    scenes: list[str] = Field(default_factory=list)
    audio_available: bool = True
    model_id: str = ""
