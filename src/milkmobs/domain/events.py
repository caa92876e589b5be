"""Domain events published on the event bus."""

from __future__ import annotations

from typing import ClassVar

from milkmobs.domain.base import DomainModel
from milkmobs.domain.video import VideoStatus

EVENT_SOURCE = "milk-mobs.analysis"
EVENT_BUS_NAME = "milk-mobs-bus"


class VideoAnalyzed(DomainModel):
    """Emitted once a video's analysis finished, validated or rejected."""

    detail_type: ClassVar[str] = "VideoAnalyzed"
    source: ClassVar[str] = EVENT_SOURCE

    video_id: str
    status: VideoStatus
    participation_score: float | None = None
    validation_score: float | None = None
    mob_id: str | None = None


DomainEvent = VideoAnalyzed
