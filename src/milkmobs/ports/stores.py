"""Record stores: videos and mobs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from milkmobs.domain import Mob, Page, Video, VideoStats, VideoStatus


class VideoStore(Protocol):
    """Video records. Lists are newest first (``created_at`` descending, ties by id) with opaque cursors.

    A cursor is only valid for the query that produced it: a forged, edited or foreign cursor
    raises InvalidInputError (field ``cursor``).
    """

    def add(self, video: Video) -> None:
        """Store a new video at revision 0 (``video.revision`` becomes 0); ConflictError if the id exists."""
        ...

    def get(self, video_id: str, *, with_embedding: bool = True) -> Video:
        """NotFoundError if unknown. ``with_embedding=False``: the record without its embedding
        (``embedding`` is None), for reads that only show the video (decoding it is most of a read)."""
        ...

    def get_many(self, video_ids: Sequence[str], *, with_embedding: bool = True) -> list[Video]:
        """The known videos among ``video_ids``, in the given order; unknown ids are skipped.
        ``with_embedding`` as in :meth:`get`."""
        ...

    def save(self, video: Video, *, expected_status: VideoStatus) -> None:
        """Replace the record, compare-and-set: only if the stored revision is still ``video.revision``
        (the one it was read at) and the stored status is ``expected_status``. The stored revision
        goes up by one and ``video.revision`` becomes it, so the caller may change and save it again.

        NotFoundError if it does not exist; VersionConflictError (nothing written) if another writer
        saved it since ``video`` was read — re-read it and apply the change again
        (``milkmobs.core.optimistic``); ConflictError if its status differs.
        """
        ...

    def delete(self, video_id: str) -> Video:
        """Remove and return the record; NotFoundError if unknown."""
        ...

    def list_by_user(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]: ...

    def list_by_status(self, status: VideoStatus | None, *, limit: int, cursor: str | None = None) -> Page[Video]:
        """``status=None`` lists every video."""
        ...

    def list_by_mob(self, mob_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]: ...

    def stats(self) -> VideoStats:
        """Counts by status, average validation score and time to validate — cheap, never a full scan.

        ``active_mobs`` is left 0; the core fills it from the MobStore.
        """
        ...


class MobStore(Protocol):
    """Mobs. The centroid is guarded by ``version``; ``video_count`` changes atomically."""

    def add(self, mob: Mob) -> None:
        """ConflictError if the id exists."""
        ...

    def get(self, mob_id: str) -> Mob:
        """NotFoundError if unknown."""
        ...

    def list_all(self) -> list[Mob]:
        """Every mob, largest first (ties by id). Mobs are few (k), so this is one bounded read."""
        ...

    def names(self, mob_ids: Collection[str]) -> dict[str, str]:
        """``{mob id: name}`` for the known ids among ``mob_ids``; unknown ids are absent.

        Reads names only (never centroids): what a video view needs to show its mob.
        """
        ...

    def save(self, mob: Mob, *, expected_version: int) -> Mob:
        """Write ``mob`` if the stored version is ``expected_version``; the stored version becomes
        ``expected_version + 1`` (returned). NotFoundError if unknown, VersionConflictError on a version clash.
        """
        ...

    def adjust_count(self, mob_id: str, delta: int) -> Mob:
        """Atomically add ``delta`` to ``video_count`` (never below 0); NotFoundError if unknown."""
        ...

    def delete(self, mob_id: str) -> None:
        """NotFoundError if unknown."""
        ...
