"""``SQLiteMobStore``: mobs in the local SQLite database.

The centroid is a float32 BLOB; ``version`` and ``video_count`` are columns so the conditional
write and the count adjustment are single guarded statements inside ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection

import numpy as np

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.domain import ConflictError, Mob, NotFoundError, VersionConflictError

_COLUMNS = "body, centroid, video_count, version"
# Below SQLite's smallest compiled-in limit on bound parameters (999 before 3.32).
_NAMES_PER_QUERY = 500


class SQLiteMobStore:
    """MobStore on a :class:`SQLiteDatabase`."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

    def add(self, mob: Mob) -> None:
        with self._db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO mobs (mob_id, video_count, version, body, centroid) VALUES (?, ?, ?, ?, ?)",
                    (mob.mob_id, mob.video_count, mob.version, mob.model_dump_json(), _blob(mob)),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"mob {mob.mob_id} already exists") from exc

    def get(self, mob_id: str) -> Mob:
        with self._db.read() as conn:
            return _load(conn, mob_id)

    def list_all(self) -> list[Mob]:
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM mobs ORDER BY video_count DESC, mob_id").fetchall()
        return [_mob_from_row(row) for row in rows]

    def names(self, mob_ids: Collection[str]) -> dict[str, str]:
        wanted = sorted(set(mob_ids))
        found: dict[str, str] = {}
        with self._db.read() as conn:
            for start in range(0, len(wanted), _NAMES_PER_QUERY):
                chunk = wanted[start : start + _NAMES_PER_QUERY]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT mob_id, json_extract(body, '$.name') FROM mobs WHERE mob_id IN ({marks})", chunk
                ).fetchall()
                found.update((str(mob_id), str(name)) for mob_id, name in rows)
        return found

    def save(self, mob: Mob, *, expected_version: int) -> Mob:
        stored = mob.stored_as(expected_version + 1)
        with self._db.write() as conn:
            row = conn.execute("SELECT version FROM mobs WHERE mob_id = ?", (mob.mob_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"mob {mob.mob_id} not found")
            if int(row[0]) != expected_version:
                raise VersionConflictError(
                    f"mob {mob.mob_id} is at version {row[0]}, expected {expected_version}; reload and retry"
                )
            conn.execute(
                "UPDATE mobs SET video_count = ?, version = ?, body = ?, centroid = ? WHERE mob_id = ?",
                (stored.video_count, stored.version, stored.model_dump_json(), _blob(stored), mob.mob_id),
            )
        return stored

    def adjust_count(self, mob_id: str, delta: int) -> Mob:
        with self._db.write() as conn:
            # MAX(0, …) in SQL: the read and the write are one statement under the write lock.
            cur = conn.execute(
                "UPDATE mobs SET video_count = MAX(0, video_count + ?) WHERE mob_id = ?", (int(delta), mob_id)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"mob {mob_id} not found")
            return _load(conn, mob_id)

    def delete(self, mob_id: str) -> None:
        with self._db.write() as conn:
            if conn.execute("DELETE FROM mobs WHERE mob_id = ?", (mob_id,)).rowcount == 0:
                raise NotFoundError(f"mob {mob_id} not found")


def _blob(mob: Mob) -> bytes:
    return np.asarray(mob.centroid, dtype="<f4").tobytes()


def _load(conn: sqlite3.Connection, mob_id: str) -> Mob:
    row = conn.execute(f"SELECT {_COLUMNS} FROM mobs WHERE mob_id = ?", (mob_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"mob {mob_id} not found")
    return _mob_from_row(row)


def _mob_from_row(row: tuple[object, ...]) -> Mob:
    body, centroid, video_count, version = row
    data = json.loads(str(body))  # the JSON form leaves the centroid out; it lives in its BLOB
    assert isinstance(centroid, bytes)
    # the columns are the truth for the fields that change atomically
    data.update(videoCount=video_count, version=version, centroid=np.frombuffer(centroid, dtype="<f4"))
    return Mob.model_validate(data)
