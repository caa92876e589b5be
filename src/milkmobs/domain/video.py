"""The Video record and its lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from milkmobs.domain.base import DomainModel
from milkmobs.domain.embedding import Embedding
from milkmobs.domain.errors import ConflictError, VersionConflictError
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
    #: The stored revision this copy was read at (0: never saved, or stored before revisions were
    #: kept). A save succeeds only while it is still the stored one (VersionConflictError otherwise),
    #: so no writer can overwrite a change it never saw. Storage metadata: not part of the JSON, nor
    #: of equality (two copies with the same content are equal whatever revision they were read at).
    revision: int = Field(default=0, ge=0, exclude=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Video):
            return NotImplemented
        return {**self.__dict__, "revision": 0} == {**other.__dict__, "revision": 0}

    __hash__ = None  # type: ignore[assignment]

    def transitioned(self, target: VideoStatus, *, at: datetime, **changes: object) -> Video:
        """A copy in ``target`` status (ConflictError if illegal), with ``changes`` applied.
        Prefer the named state changes below; this is their one gate to the lifecycle."""
        check_transition(self.video_id, self.status, target)
        return self.model_copy(update={"status": target, "updated_at": at, **changes})

    # --- state changes, named for what they do (each returns a new record) ------------------------
    def accepted_upload(self, *, at: datetime, version: str | None, sha256: str | None) -> Video:
        """``uploaded``: the accepted file is pinned by its version and content hash."""
        return self.transitioned(
            VideoStatus.UPLOADED, at=at, uploaded_at=at, media_version=version, content_sha256=sha256
        )

    def processing_started(self, *, at: datetime, media: MediaInfo | None) -> Video:
        """``processing``, with what the media probe found (None when no probe runs)."""
        changes: dict[str, object] = {"processing_started_at": at}
        if media is not None:
            changes["media"] = media
        return self.transitioned(VideoStatus.PROCESSING, at=at, **changes)

    def with_thumbnail(self, key: str, *, at: datetime) -> Video:
        return self.model_copy(update={"thumbnail_key": key, "updated_at": at})

    def analysed(self, insights: Insights, embedding: Embedding, *, at: datetime) -> Video:
        """The models' answers stored; the status does not change until validation."""
        return self.model_copy(update={"insights": insights, "embedding": embedding, "updated_at": at})

    def with_validation(self, result: ValidationResult, *, at: datetime) -> Video:
        """A new validation result that keeps the status (a re-validation that agrees)."""
        return self.model_copy(update={"validation": result, "updated_at": at})

    def rejected(self, result: ValidationResult, *, at: datetime) -> Video:
        """``rejected`` by ``result``; it leaves its mob."""
        completed = at if self.status is VideoStatus.PROCESSING else self.completed_at
        return self.transitioned(VideoStatus.REJECTED, at=at, validation=result, mob_id=None, completed_at=completed)

    def assigned_to(self, mob_id: str, *, at: datetime) -> Video:
        """A member of ``mob_id``: ``validated`` now if it was not already."""
        if self.status is VideoStatus.VALIDATED:
            return self.model_copy(update={"mob_id": mob_id, "updated_at": at})
        return self.transitioned(VideoStatus.VALIDATED, at=at, mob_id=mob_id, completed_at=self.completed_at or at)

    def left_mob(self, *, at: datetime) -> Video:
        return self.model_copy(update={"mob_id": None, "updated_at": at})

    def failed_at(self, step: str, error: str, *, at: datetime, error_type: str = "") -> Video:
        """``failed`` in ``step`` with a readable ``error``."""
        failure = Failure(step=step, error=error, error_type=error_type, at=at)
        return self.transitioned(VideoStatus.FAILED, at=at, failure=failure, completed_at=at)

    def with_embedding(self, embedding: Embedding) -> Video:
        """The record as read back with its stored embedding (stores keep it apart from the document)."""
        return self.model_copy(update={"embedding": embedding})


def check_save(video: Video, expected_status: VideoStatus, stored: Video) -> None:
    """The compare of a store's compare-and-set save of ``video`` over ``stored``: VersionConflictError
    if ``video`` was read at another revision than the stored one (another writer saved since), else
    ConflictError if the stored status is not ``expected_status``."""
    if stored.revision != video.revision:
        raise VersionConflictError(
            f"video {video.video_id} was saved by another writer since this copy was read (revision "
            f"{video.revision}, stored {stored.revision}); re-read it and apply the change again",
            video_id=video.video_id,
        )
    if stored.status is not expected_status:
        raise ConflictError(
            f"video {video.video_id} is {stored.status.value}, expected {expected_status.value}",
            video_id=video.video_id,
        )
