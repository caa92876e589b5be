"""``SQLiteVideoStore``: video records in the local SQLite database.

Lists use keyset pagination on ``(created_us, video_id)`` — a cursor is the last item's position,
so a page stays correct when items before or at the cursor are deleted. Cursors are HMAC-signed and
name the query they belong to, so a forged, edited or foreign cursor is refused.

Stats are counters (``video_counters``) changed in the same transaction as the rows they describe:
one row per status, plus sums and counts for the average validation score and time to validate.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase, to_micros
from milkmobs.domain import (
    ConflictError,
    Embedding,
    InvalidInputError,
    NotFoundError,
    Page,
    VersionConflictError,
    Video,
    VideoStats,
    VideoStatus,
    check_save,
)
from milkmobs.domain.paging import CursorCodec
from milkmobs.domain.stats import StatsCounters, stats_change, stats_from_counters

_COLUMNS = "video_id, body, embedding, embedding_model, created_us, revision"
_COLUMNS_NO_EMBEDDING = "video_id, body, NULL, NULL, created_us, revision"  # the same row shape, nothing to decode
_IN_CHUNK = 500  # stay far below SQLite's bound-parameter limit


def _to_position(created_us: int, video_id: str) -> str:
    return json.dumps([created_us, video_id], separators=(",", ":"))


def _from_position(position: str) -> tuple[int, str]:
    try:
        created_us, video_id = json.loads(position)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError("the cursor is malformed; start again without a cursor", field="cursor") from exc
    if not isinstance(created_us, int) or not isinstance(video_id, str):
        raise InvalidInputError("the cursor is malformed; start again without a cursor", field="cursor")
    return created_us, video_id


class SQLiteVideoStore:
    """VideoStore on a :class:`SQLiteDatabase`; newest first, ties by id (descending)."""

    def __init__(self, db: SQLiteDatabase, *, cursor_secret: bytes) -> None:
        self._db = db
        self._cursors = CursorCodec(cursor_secret)

    # --- writes ----------------------------------------------------------------------
    def add(self, video: Video) -> None:
        with self._db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO videos (video_id, user_id, status, mob_id, created_us, body, embedding,"
                    " embedding_model) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        video.video_id,
                        video.user_id,
                        video.status.value,
                        video.mob_id,
                        to_micros(video.created_at),
                        *_row_payload(video),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"video {video.video_id} already exists", video_id=video.video_id) from exc
            _bump(conn, stats_change(video, None))
        video.revision = 0

    def save(self, video: Video, *, expected_status: VideoStatus) -> None:
        with self._db.write() as conn:
            stored = self._load(conn, video.video_id)
            check_save(video, expected_status, stored)
            # The write lock is held since the read; the revision in WHERE keeps the statement itself
            # a compare-and-set.
            updated = conn.execute(
                "UPDATE videos SET user_id = ?, status = ?, mob_id = ?, created_us = ?, body = ?, embedding = ?,"
                " embedding_model = ?, revision = revision + 1 WHERE video_id = ? AND revision = ?",
                (
                    video.user_id,
                    video.status.value,
                    video.mob_id,
                    to_micros(video.created_at),
                    *_row_payload(video),
                    video.video_id,
                    stored.revision,
                ),
            )
            if updated.rowcount != 1:
                raise VersionConflictError(
                    f"video {video.video_id} changed while being saved; re-read it and apply the change again",
                    video_id=video.video_id,
                )
            _bump(conn, stats_change(video, stored))
        video.revision = stored.revision + 1

    def delete(self, video_id: str) -> Video:
        with self._db.write() as conn:
            stored = self._load(conn, video_id)
            conn.execute("DELETE FROM videos WHERE video_id = ?", (video_id,))
            _bump(conn, stats_change(None, stored))
        return stored

    # --- reads -----------------------------------------------------------------------
    def get(self, video_id: str, *, with_embedding: bool = True) -> Video:
        with self._db.read() as conn:
            return self._load(conn, video_id, _COLUMNS if with_embedding else _COLUMNS_NO_EMBEDDING)

    def get_many(self, video_ids: Sequence[str], *, with_embedding: bool = True) -> list[Video]:
        ids = list(video_ids)
        columns = _COLUMNS if with_embedding else _COLUMNS_NO_EMBEDDING
        found: dict[str, Video] = {}
        with self._db.read() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(f"SELECT {columns} FROM videos WHERE video_id IN ({marks})", chunk).fetchall()
                found.update((row[0], _video_from_row(row)) for row in rows)
        return [found[video_id] for video_id in ids if video_id in found]

    def list_by_user(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]:
        return self._page("user_id = ?", (user_id,), f"user\x00{user_id}", limit, cursor)

    def list_by_status(self, status: VideoStatus | None, *, limit: int, cursor: str | None = None) -> Page[Video]:
        if status is None:
            return self._page("1 = 1", (), "all", limit, cursor)
        status = VideoStatus(status)
        return self._page("status = ?", (status.value,), f"status\x00{status.value}", limit, cursor)

    def list_by_mob(self, mob_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]:
        return self._page("mob_id = ?", (mob_id,), f"mob\x00{mob_id}", limit, cursor)

    def stats(self) -> VideoStats:
        with self._db.read() as conn:
            rows = conn.execute("SELECT name, value FROM video_counters").fetchall()
        return stats_from_counters({str(name): float(value) for name, value in rows})

    # --- helpers -----------------------------------------------------------------------
    def _page(self, where: str, args: tuple[str, ...], scope: str, limit: int, cursor: str | None) -> Page[Video]:
        if limit < 1:
            raise InvalidInputError(f"limit must be at least 1, got {limit}", field="limit")
        params: list[object] = list(args)
        if cursor:
            created_us, last_id = _from_position(self._cursors.decode(scope, cursor))
            where += " AND (created_us, video_id) < (?, ?)"
            params += [created_us, last_id]
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM videos WHERE {where} ORDER BY created_us DESC, video_id DESC LIMIT ?",
                [*params, limit + 1],
            ).fetchall()
        items = [_video_from_row(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = self._cursors.encode(scope, _to_position(int(last[4]), str(last[0])))
        return Page(items=items, next_cursor=next_cursor)

    @staticmethod
    def _load(conn: sqlite3.Connection, video_id: str, columns: str = _COLUMNS) -> Video:
        row = conn.execute(f"SELECT {columns} FROM videos WHERE video_id = ?", (video_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"video {video_id} not found", video_id=video_id)
        return _video_from_row(row)


def _row_payload(video: Video) -> tuple[str, bytes | None, str | None]:
    """``body`` JSON (the embedding is excluded from it), the embedding BLOB and its model id."""
    emb = video.embedding
    return video.model_dump_json(), (emb.to_bytes() if emb else None), (emb.model_id if emb else None)


def _video_from_row(row: tuple[object, ...]) -> Video:
    video = Video.model_validate_json(str(row[1]))
    revision = row[5]
    video.revision = revision if isinstance(revision, int) else 0
    blob, model_id = row[2], row[3]
    if isinstance(blob, bytes):
        # The record was just read and no one else holds it: set the field (copying it was a tenth of a
        # similar-video search, which reads eleven records).
        video.embedding = Embedding.from_bytes(blob, model_id=str(model_id or ""))
    return video


def _bump(conn: sqlite3.Connection, deltas: StatsCounters) -> None:
    conn.executemany(
        "INSERT INTO video_counters (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
        [(name, float(value)) for name, value in deltas.items()],
    )
