"""Video records in a dict, with a sorted key list for cheap newest-first paging."""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from milkmobs.domain import NotFoundError, Page, Video, VideoStats, VideoStatus, check_save
from milkmobs.domain.errors import ConflictError, InvalidInputError
from milkmobs.domain.paging import CursorCodec
from milkmobs.domain.stats import StatsCounters, stats_change, stats_from_counters

SortKey = tuple[datetime, str]


def _to_position(key: SortKey) -> str:
    return json.dumps([key[0].isoformat(), key[1]])


def _from_position(position: str) -> SortKey:
    try:
        created_at, video_id = json.loads(position)
        return datetime.fromisoformat(created_at), str(video_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError("the cursor is malformed; start again without a cursor", field="cursor") from exc


def _sort_key(video: Video) -> SortKey:
    return (video.created_at, video.video_id)


class _StatsCounters:
    """Running totals kept up to date on every write, so ``stats()`` never scans."""

    def __init__(self) -> None:
        self.counters: StatsCounters = {}

    def apply(self, new: Video | None, old: Video | None) -> None:
        """Apply one write: ``new`` replaces ``old`` (either may be None)."""
        for name, delta in stats_change(new, old).items():
            self.counters[name] = self.counters.get(name, Decimal(0)) + delta

    def snapshot(self) -> VideoStats:
        return stats_from_counters(self.counters)


def _queries(video: Video) -> tuple[str, ...]:
    """The lists a video appears in (like the GSIs of a real table)."""
    queries = ["status:*", f"status:{video.status.value}", f"user:{video.user_id}"]
    if video.mob_id is not None:
        queries.append(f"mob:{video.mob_id}")
    return tuple(queries)


def _copy(video: Video, *, with_embedding: bool = True) -> Video:
    """A copy sharing nothing mutable with ``video`` — much cheaper than a generic deep copy."""
    update: dict[str, object] = {"hashtags": list(video.hashtags)}
    for name in ("insights", "validation", "media", "failure"):
        value = getattr(video, name)
        if value is not None:
            update[name] = value.model_copy(deep=True)
    if not with_embedding:
        update["embedding"] = None
    elif video.embedding is not None:
        update["embedding"] = video.embedding.model_copy(update={"vector": video.embedding.vector.copy()})
    return video.model_copy(update=update)


class InMemoryVideoStore:
    """Thread-safe VideoStore in process memory. Returns copies, so callers never share state with it.

    Every list keeps its own sorted key list, so a page costs O(log n + page size) whatever the filter.
    """

    def __init__(self, *, cursor_secret: bytes | None = None) -> None:
        self._videos: dict[str, Video] = {}
        self._lists: dict[str, list[SortKey]] = {}  # query -> keys ascending; pages walk it backwards
        self._stats = _StatsCounters()
        self._cursors = CursorCodec(cursor_secret)
        self._lock = threading.RLock()

    def add(self, video: Video) -> None:
        with self._lock:
            if video.video_id in self._videos:
                raise ConflictError(f"video {video.video_id} already exists", video_id=video.video_id)
            video.revision = 0
            stored = _copy(video)
            self._videos[video.video_id] = stored
            self._index(stored, add=True)
            self._stats.apply(stored, None)

    def get(self, video_id: str, *, with_embedding: bool = True) -> Video:
        with self._lock:
            video = self._videos.get(video_id)
            if video is None:
                raise NotFoundError(f"video {video_id} not found", video_id=video_id)
            return _copy(video, with_embedding=with_embedding)

    def get_many(self, video_ids: Sequence[str], *, with_embedding: bool = True) -> list[Video]:
        with self._lock:
            return [_copy(self._videos[v], with_embedding=with_embedding) for v in video_ids if v in self._videos]

    def save(self, video: Video, *, expected_status: VideoStatus) -> None:
        with self._lock:
            current = self._videos.get(video.video_id)
            if current is None:
                raise NotFoundError(f"video {video.video_id} not found", video_id=video.video_id)
            check_save(video, expected_status, current)
            stored = _copy(video.model_copy(update={"revision": current.revision + 1}))
            if _queries(stored) != _queries(current) or _sort_key(stored) != _sort_key(current):
                self._index(current, add=False)
                self._index(stored, add=True)
            self._stats.apply(stored, current)
            self._videos[video.video_id] = stored
            video.revision = stored.revision

    def delete(self, video_id: str) -> Video:
        with self._lock:
            video = self._videos.pop(video_id, None)
            if video is None:
                raise NotFoundError(f"video {video_id} not found", video_id=video_id)
            self._index(video, add=False)
            self._stats.apply(None, video)
            return video

    def list_by_user(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]:
        return self._page(f"user:{user_id}", limit, cursor)

    def list_by_status(self, status: VideoStatus | None, *, limit: int, cursor: str | None = None) -> Page[Video]:
        """``status=None`` lists every video."""
        return self._page("status:*" if status is None else f"status:{VideoStatus(status).value}", limit, cursor)

    def list_by_mob(self, mob_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]:
        return self._page(f"mob:{mob_id}", limit, cursor)

    def stats(self) -> VideoStats:
        with self._lock:
            return self._stats.snapshot()

    def _index(self, video: Video, *, add: bool) -> None:
        key = _sort_key(video)
        for query in _queries(video):
            keys = self._lists.setdefault(query, [])
            if add:
                bisect.insort(keys, key)
                continue
            index = bisect.bisect_left(keys, key)
            if index < len(keys) and keys[index] == key:
                del keys[index]
            if not keys:
                del self._lists[query]  # mobs and users come and go: do not keep empty lists

    def _page(self, query: str, limit: int, cursor: str | None) -> Page[Video]:
        if limit < 1:
            raise InvalidInputError(f"limit must be at least 1, got {limit}", field="limit")
        with self._lock:
            keys = self._lists.get(query, [])
            end = len(keys)
            if cursor is not None:
                # Resume strictly after the last key returned, even if that item is gone now.
                end = bisect.bisect_left(keys, _from_position(self._cursors.decode(query, cursor)))
            start = max(0, end - limit)
            items = [_copy(self._videos[key[1]]) for key in reversed(keys[start:end])]
            next_cursor = self._cursors.encode(query, _to_position(_sort_key(items[-1]))) if start > 0 else None
            return Page(items=items, next_cursor=next_cursor)
