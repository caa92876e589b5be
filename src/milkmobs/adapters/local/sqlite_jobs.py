"""``SQLiteJobQueue``: analyses that HTTP worker processes hand to the pipeline process.

A row is written in the request that accepted the upload and removed only once the video's execution
has ended, so an analysis queued here survives the death of any process (the pipeline process picks
the rows up again when it starts).
"""

from __future__ import annotations

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase


class SQLiteJobQueue:
    """Video ids waiting for (or in) analysis, oldest first."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

    def enqueue(self, video_id: str, *, queued_us: int) -> None:
        """Queue ``video_id`` (a second enqueue of a queued video changes nothing)."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO pipeline_jobs (video_id, queued_us) VALUES (?, ?) ON CONFLICT (video_id) DO NOTHING",
                (video_id, queued_us),
            )

    def pending(self, limit: int = 1000) -> list[str]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT video_id FROM pipeline_jobs ORDER BY queued_us, video_id LIMIT ?", (limit,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def done(self, video_id: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM pipeline_jobs WHERE video_id = ?", (video_id,))
