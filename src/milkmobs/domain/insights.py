"""What the descriptive video model (Pegasus) says about a video."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from milkmobs.domain.base import DomainModel


class Signal(StrEnum):
    """Where in a post an insight was found (or looked for)."""

    PIXELS = "pixels"
    SOUND = "sound"
    ON_SCREEN_TEXT = "on-screen text"
    HASHTAGS = "hashtags"
    TITLE = "title"
    DESCRIPTION = "description"


class InsightSources(DomainModel):
    """Which signals each yes/no insight came from: where it was found, or where it was looked for
    when it is "no". The defaults are those of a video model that watches and listens."""

    product_shown: list[Signal] = Field(default_factory=lambda: [Signal.PIXELS])
    product_mentioned: list[Signal] = Field(default_factory=lambda: [Signal.SOUND])
    action_aligned: list[Signal] = Field(default_factory=lambda: [Signal.PIXELS])


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
    sources: InsightSources = Field(default_factory=InsightSources)
