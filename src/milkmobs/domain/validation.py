"""The result of scoring a video against its campaign."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from milkmobs.domain.base import DomainModel


class ScoreBreakdown(DomainModel):
    """Sub-scores in [0, 1]; ``audio`` is None when the video has no usable audio."""

    visual: float = Field(ge=0.0, le=1.0)
    audio: float | None = Field(default=None, ge=0.0, le=1.0)
    ocr: float = Field(ge=0.0, le=1.0)
    hashtags: float = Field(ge=0.0, le=1.0)


class ValidationResult(DomainModel):
    repr_fields: ClassVar[tuple[str, ...]] = ("score", "passed", "breakdown")

    video_id: str
    score: float = Field(ge=0.0, le=1.0)
    passed: bool
    breakdown: ScoreBreakdown
    reasons: list[str] = Field(default_factory=list)
    campaign: str = ""
    validated_at: datetime | None = None
