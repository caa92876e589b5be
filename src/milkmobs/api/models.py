"""The HTTP API's own request and answer shapes (envelopes around the core's views).

Single objects reuse the core's models (``VideoView``, ``Mob``, ``ValidationResult``...); this
module only adds what the wire needs on top: list envelopes with ``nextCursor`` and small bodies.
"""

from __future__ import annotations

from pydantic import Field

from milkmobs.core.views import VideoView
from milkmobs.domain import ExecutionRecord, Mob, Video
from milkmobs.domain.base import DomainModel
from milkmobs.domain.text import SafeText

#: Identifiers are uuid-like hex strings; the bound keeps junk out of the stores' keys.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"


class SubmitBody(DomainModel):
    """POST /videos/submit. The core checks the values (size limit, content type, hashtags)."""

    user_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    title: SafeText | None = Field(default=None, max_length=500)
    description: SafeText | None = Field(default=None, max_length=5000)
    hashtags: list[SafeText] | None = Field(default=None, max_length=30)
    content_type: str | None = Field(default="video/mp4", max_length=100)
    size_bytes: int | None = Field(default=None, ge=1)
    content_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="The file's SHA-256 (hex), if known: a file this user already uploaded is refused (409 "
        "duplicate_content, naming the video) before anything is created, and the upload must be these bytes",
    )


class VideoList(DomainModel):
    videos: list[VideoView]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page; null at the end")


class MobList(DomainModel):
    mobs: list[Mob]


class ValidateBody(DomainModel):
    """POST /validate: re-run validation on the stored analysis of ``videoId``."""

    video_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)


class ExecutionHistory(DomainModel):
    video_id: str
    executions: list[ExecutionRecord]


class DeletedVideo(DomainModel):
    """What DELETE /admin/videos/{videoId} removed."""

    video_id: str
    deleted: bool = True
    video: Video
