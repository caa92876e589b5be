"""What the core hands to the driving side (API, CLI, notebooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from milkmobs.domain import Mob, ValidationResult, Video
from milkmobs.domain.base import DomainModel
from milkmobs.domain.display import dataframe

if TYPE_CHECKING:
    import pandas
from milkmobs.ports import UploadTicket


class VideoView(Video):
    """A video as users see it: with its media URLs and its mob's name."""

    repr_fields: ClassVar[tuple[str, ...]] = ("video_id", "title", "status", "validation", "mob_name")

    video_url: str | None = None
    thumbnail_url: str | None = None
    mob_name: str | None = None

    @classmethod
    def of(cls, video: Video, *, video_url: str | None, thumbnail_url: str | None, mob_name: str | None) -> VideoView:
        """The view of a stored video, its fields taken over as they are: the record was validated when
        it was read, and re-checking (or ``model_construct``'s per-field loop) was a quarter of the
        cost of every read that lists videos."""
        values: dict[str, Any] = dict(video.__dict__)
        values.update(video_url=video_url, thumbnail_url=thumbnail_url, mob_name=mob_name)
        view = cls.__new__(cls)
        # What ``model_construct`` ends with, for a model without extras or private attributes.
        object.__setattr__(view, "__dict__", values)
        object.__setattr__(view, "__pydantic_fields_set__", set(values))
        object.__setattr__(view, "__pydantic_extra__", None)
        object.__setattr__(view, "__pydantic_private__", None)
        return view


class SubmitRequest(DomainModel):
    """POST /videos/submit. Checked by ``submit_video`` (InvalidInputError naming the field)."""

    user_id: str = ""
    title: str | None = None
    description: str | None = None
    hashtags: list[str] | None = None
    content_type: str | None = "video/mp4"
    size_bytes: int | None = None
    #: The file's SHA-256 (hex), when the client knows it: a file this user already uploaded is then
    #: refused before any record exists (DuplicateContentError naming the video), and the upload must
    #: be exactly these bytes.
    content_sha256: str | None = None


class Submission(DomainModel):
    video_id: str
    video: VideoView
    upload: UploadTicket


class SimilarResult(DomainModel):
    video: VideoView
    score: float


class SimilarVideos(DomainModel):
    video_id: str | None = None
    query: str | None = None
    results: list[SimilarResult] = Field(default_factory=list)

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per hit: ``score`` and the video's fields (``video.title``, …); needs pandas."""
        return dataframe(self.results)


class MobDetail(DomainModel):
    mob: Mob
    videos: list[VideoView] = Field(default_factory=list)
    next_cursor: str | None = None

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per video of this page of the mob; needs pandas."""
        return dataframe(self.videos)


class MobReconciliation(DomainModel):
    """Mobs whose count was repaired from their members, and mobs removed for having none."""

    recounted: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class ClusteringReport(DomainModel):
    """What a batch re-clustering did."""

    videos: int
    mobs: int
    kept_mob_ids: list[str] = Field(default_factory=list)
    new_mob_ids: list[str] = Field(default_factory=list)
    removed_mob_ids: list[str] = Field(default_factory=list)
    inertia: float = 0.0
    iterations: int = 0


__all__ = [
    "ClusteringReport",
    "MobDetail",
    "MobReconciliation",
    "SimilarResult",
    "SimilarVideos",
    "Submission",
    "SubmitRequest",
    "ValidationResult",
    "VideoView",
]
