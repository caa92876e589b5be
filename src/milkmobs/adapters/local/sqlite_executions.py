"""``SQLiteExecutionLog``: execution and step records of the in-process orchestrator."""

from __future__ import annotations

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase, to_micros
from milkmobs.domain import ExecutionRecord, ExecutionStatus, NotFoundError


class SQLiteExecutionLog:
    """ExecutionLog on a :class:`SQLiteDatabase`; one JSON row per execution, indexed by video and start."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

    def put(self, record: ExecutionRecord) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO executions (execution_id, video_id, started_us, body) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (execution_id) DO UPDATE SET video_id = excluded.video_id,"
                " started_us = excluded.started_us, body = excluded.body",
                (record.execution_id, record.video_id, to_micros(record.started_at), record.model_dump_json()),
            )

    def get(self, execution_id: str) -> ExecutionRecord:
        with self._db.read() as conn:
            row = conn.execute("SELECT body FROM executions WHERE execution_id = ?", (execution_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"execution {execution_id} not found")
        return ExecutionRecord.model_validate_json(row[0])

    def list_for_video(self, video_id: str) -> list[ExecutionRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT body FROM executions WHERE video_id = ? ORDER BY started_us DESC, execution_id DESC",
                (video_id,),
            ).fetchall()
        return [ExecutionRecord.model_validate_json(row[0]) for row in rows]

    def list_running(self) -> list[ExecutionRecord]:
        # A scan of the executions, run once at start-up: cheaper than a status column kept in step.
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT body FROM executions WHERE json_extract(body, '$.status') = ?"
                " ORDER BY started_us, execution_id",
                (ExecutionStatus.RUNNING.value,),
            ).fetchall()
        return [ExecutionRecord.model_validate_json(row[0]) for row in rows]
