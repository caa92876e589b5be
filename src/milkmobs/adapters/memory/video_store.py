"""Video records in a dict, with a sorted key list for cheap newest-first paging."""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Callable, Sequence

from milkmobs.adapters.memory._cursor import CursorCodec, SortKey
from milkmobs.domain import NotFoundError, Page, Video, VideoStats, VideoStatus
from milkmobs.domain.errors import ConflictError, InvalidInputError


def _sort_key(video: Video) -> SortKey:
    return (video.created_at, video.video_id)


class _StatsCounters:
    """Running totals kept up to date on every write, so ``stats()`` never scans."""

    def __init__(self) -> None:
        self.by_status: Counter[str] = Counter()
        self.score_sum = 0.0
        self.score_count = 0
        self.seconds_sum = 0.0
        self.seconds_count = 0

    def apply(self, video: Video, sign: int) -> None:
        """Add (``sign=1``) or remove (``sign=-1``) one video's contribution."""
        self.by_status[video.status.value] += sign
        if video.validation is not None:
            self.score_sum += sign * video.validation.score
            self.score_count += sign
        if video.status is VideoStatus.VALIDATED and video.completed_at is not None:
            self.seconds_sum += sign * (video.completed_at - video.created_at).total_seconds()
            self.seconds_count += sign

    def snapshot(self) -> VideoStats:
        by_status = {status: count for status, count in self.by_status.items() if count > 0}
        return VideoStats(
            total_videos=sum(by_status.values()),
            by_status=by_status,
            average_validation_score=self.score_sum / self.score_count if self.score_count else None,
            average_seconds_to_validate=self.seconds_sum / self.seconds_count if self.seconds_count else None,
        )


class InMemoryVideoStore:
    """Thread-safe VideoStore in process memory. Returns copies, so callers never share state with it."""

    def __init__(self, *, cursor_secret: bytes | None = None) -> None:
        self._videos: dict[str, Video] = {}
        self._order: list[SortKey] = []  # ascending; pages walk it backwards
        self._stats = _StatsCounters()
        self._cursors = CursorCodec(cursor_secret)
        self._lock = threading.RLock()

    def add(self, video: Video) -> None:
        with self._lock:
            if video.video_id in self._videos:
                raise ConflictError(f"video {video.video_id} already exists", video_id=video.video_id)
            stored = video.model_copy(deep=True)
            self._videos[video.video_id] = stored
            bisect.insort(self._order, _sort_key(stored))
            self._stats.apply(stored, 1)

    def get(self, video_id: str) -> Video:
        with self._lock:
            video = self._videos.get(video_id)
            if video is None:
                raise NotFoundError(f"video {video_id} not found", video_id=video_id)
            return video.model_copy(deep=True)

    def get_many(self, video_ids: Sequence[str]) -> list[Video]:
        with self._lock:
            return [self._videos[v].model_copy(deep=True) for v in video_ids if v in self._videos]

    def save(self, video: Video, *, expected_status: VideoStatus) -> None:
        with self._lock:
            current = self._videos.get(video.video_id)
            if current is None:
                raise NotFoundError(f"video {video.video_id} not found", video_id=video.video_id)
            if current.status is not expected_status:
                raise ConflictError(
                    f"video {video.video_id} is {current.status.value}, expected {expected_status.value}",
                    video_id=video.video_id,
                )
            stored = video.model_copy(deep=True)
            if _sort_key(stored) != _sort_key(current):  # created_at should not change, but stay consistent
                self._remove_key(_sort_key(current))
                bisect.insort(self._order, _sort_key(stored))
            self._stats.apply(current, -1)
            self._stats.apply(stored, 1)
            self._videos[video.video_id] = stored

    def delete(self, video_id: str) -> Video:
        with self._lock:
            video = self._videos.pop(video_id, None)
            if video is None:
                raise NotFoundError(f"video {video_id} not found", video_id=video_id)
            self._remove_key(_sort_key(video))
            self._stats.apply(video, -1)
            return video

    def list_by_user(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]:
        return self._page(f"user:{user_id}", lambda v: v.user_id == user_id, limit, cursor)

    def list_by_status(self, status: VideoStatus | None, *, limit: int, cursor: str | None = None) -> Page[Video]:
        if status is None:
            return self._page("status:*", lambda v: True, limit, cursor)
        status = VideoStatus(status)
        return self._page(f"status:{status.value}", lambda v: v.status is status, limit, cursor)

    def list_by_mob(self, mob_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]:
        return self._page(f"mob:{mob_id}", lambda v: v.mob_id == mob_id, limit, cursor)

    def stats(self) -> VideoStats:
        with self._lock:
            return self._stats.snapshot()

    def _remove_key(self, key: SortKey) -> None:
        index = bisect.bisect_left(self._order, key)
        if index < len(self._order) and self._order[index] == key:
            del self._order[index]

    def _page(self, query: str, matches: Callable[[Video], bool], limit: int, cursor: str | None) -> Page[Video]:
        if limit < 1:
            raise InvalidInputError(f"limit must be at least 1, got {limit}", field="limit")
        with self._lock:
            start = len(self._order)
            if cursor is not None:
                # Resume strictly after the last key returned, even if that item is gone now.
                start = bisect.bisect_left(self._order, self._cursors.decode(cursor, query))
            items: list[Video] = []
            index = start - 1
            while index >= 0 and len(items) <= limit:  # one extra item tells whether a next page exists
                video = self._videos[self._order[index][1]]
                if matches(video):
                    items.append(video)
                index -= 1
            has_more = len(items) > limit
            items = items[:limit]
            next_cursor = self._cursors.encode(query, _sort_key(items[-1])) if has_more else None
            return Page(items=[v.model_copy(deep=True) for v in items], next_cursor=next_cursor)
