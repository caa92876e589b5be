"""Read, change, save: the one place a save that lost to a concurrent writer is tried again.

The stores save compare-and-set (a video's ``revision``, a mob's ``version``): a save made from a
copy that another writer saved since it was read raises VersionConflictError and writes nothing, so
no writer overwrites a change it never saw (a thumbnail, a mob assignment, a failure). A caller whose
change can be computed again from the fresh record passes it here as a function of the record: it is
applied to a fresh read and saved again until it lands. Every other error (a status the change
refuses, NotFoundError) goes to the caller at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from milkmobs.core.ports_bundle import CorePorts
from milkmobs.domain import VersionConflictError, Video

R = TypeVar("R")

#: Tries of one read-change-save before giving up (each lost try means another writer's save landed).
ATTEMPTS = 20


@dataclass(frozen=True)
class Saved(Generic[R]):
    """What a read-change-save ended with: ``record`` as stored now (the saved one, or the one read
    when the change had nothing to write), ``before`` as read last, ``written`` whether it saved."""

    record: R
    before: R
    written: bool


def read_change_save(
    read: Callable[[], R],
    change: Callable[[R], R | None],
    save: Callable[[R, R], R],
    *,
    what: str,
    video_id: str | None = None,
    first: R | None = None,
    attempts: int = ATTEMPTS,
) -> Saved[R]:
    """Apply ``change`` to the record ``read`` returns (``first`` for the first try, when the caller
    just read it) and ``save(read, changed)`` it, which returns the record as stored. ``change``
    returning None means nothing to write. On VersionConflictError: read again and re-apply."""
    record = first
    for _ in range(attempts):
        if record is None:
            record = read()
        changed = change(record)
        if changed is None:
            return Saved(record, record, written=False)
        try:
            return Saved(save(record, changed), record, written=True)
        except VersionConflictError:
            record = None  # another writer saved it since: read it again
    raise VersionConflictError(
        f"{what} kept changing under concurrent writers ({attempts} tries); try again", video_id=video_id
    )


def update_video(
    ports: CorePorts, video_id: str, change: Callable[[Video], Video | None], *, first: Video | None = None
) -> Saved[Video]:
    """:func:`read_change_save` on a video record, each save guarded by the status it was read in."""

    def save(read: Video, changed: Video) -> Video:
        ports.videos.save(changed, expected_status=read.status)
        return changed  # the save set its revision to the stored one

    return read_change_save(
        lambda: ports.videos.get(video_id), change, save, what=f"video {video_id}", video_id=video_id, first=first
    )


__all__ = ["ATTEMPTS", "Saved", "read_change_save", "update_video"]
