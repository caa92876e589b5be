"""Admin statistics."""

from __future__ import annotations

from pydantic import Field

from milkmobs.domain.base import DomainModel


class VideoStats(DomainModel):
    """Totals the admin view shows; stores keep them cheap (counters, not scans)."""

    total_videos: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)
    active_mobs: int = 0
    average_validation_score: float | None = None
    average_seconds_to_validate: float | None = None
