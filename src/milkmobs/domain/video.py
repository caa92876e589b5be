"""The Video record and its lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from milkmobs.domain.base import DomainModel
from milkmobs.domain.embedding import Embedding
from milkmobs.domain.errors import ConflictError
from milkmobs.domain.insights import Insights
from milkmobs.domain.text import SafeText
from milkmobs.domain.validation import ValidationResult


class VideoStatus(StrEnum):
    PENDING_UPLOAD = "pending_upload"
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    VALIDATED = "validated"
    REJECTED = "rejected"
    FAILED = "failed"


#: The legal lifecycle. Re-running validation may flip validated <-> rejected.
ALLOWED_TRANSITIONS: dict[VideoStatus, frozenset[VideoStatus]] = {
    VideoStatus.PENDING_UPLOAD: frozenset({VideoStatus.UPLOADED, VideoStatus.FAILED}),
    VideoStatus.UPLOADED: frozenset({VideoStatus.PROCESSING, VideoStatus.FAILED}),
    VideoStatus.PROCESSING: frozenset({VideoStatus.VALIDATED, VideoStatus.REJECTED, VideoStatus.FAILED}),
    VideoStatus.VALIDATED: frozenset({VideoStatus.REJECTED, VideoStatus.FAILED}),
    VideoStatus.REJECTED: frozenset({VideoStatus.VALIDATED, VideoStatus.FAILED}),
    VideoStatus.FAILED: frozenset(),
}

TERMINAL_STATUSES = frozenset({VideoStatus.VALIDATED, VideoStatus.REJECTED, VideoStatus.FAILED})


def check_transition(video_id: str, current: VideoStatus, target: VideoStatus) -> None:
    """Raise ConflictError unless ``current -> target`` is a legal step."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise ConflictError(f"video {video_id} cannot go from {current.value} to {target.value}", video_id=video_id)


class Failure(DomainModel):
    """Why a video ended ``failed``: the step and a readable error."""

    step: str
    error: str
    error_type: str = ""
    at: datetime | None = None


class MediaInfo(DomainModel):
    """What the media probe found in the uploaded file."""

    duration_seconds: float = Field(ge=0)
    width: int | None = None
    height: int | None = None
    has_audio: bool = False
    size_bytes: int | None = None


class Video(DomainModel):
    """One submitted video. ``embedding`` is kept out of the API JSON."""

    repr_fields: ClassVar[tuple[str, ...]] = ("video_id", "title", "status", "validation", "mob_id")

    video_id: str
    user_id: SafeText
    title: SafeText = ""
    description: SafeText = ""
    hashtags: list[SafeText] = Field(default_factory=list)
    status: VideoStatus = VideoStatus.PENDING_UPLOAD
    media_key: str
    content_type: str = "video/mp4"
    declared_size_bytes: int | None = None
    #: The accepted upload, pinned: its version where the media store keeps versions (S3), and its hash.
    media_version: str | None = None
    content_sha256: str | None = None
    created_at: datetime
    updated_at: datetime
    uploaded_at: datetime | None = None
    processing_started_at: datetime | None = None
    completed_at: datetime | None = None
    media: MediaInfo | None = None
    thumbnail_key: str | None = None
    insights: Insights | None = None
    embedding: Embedding | None = Field(default=None, exclude=True)
    validation: ValidationResult | None = None
    mob_id: str | None = None
    failure: Failure | None = None

    def transitioned(self, target: VideoStatus, *, at: datetime, **changes: object) -> Video:
        """A copy in ``target`` status (ConflictError if illegal), with ``changes`` applied."""
        check_transition(self.video_id, self.status, target)
        return self.model_copy(update={"status": target, "updated_at": at, **changes})
