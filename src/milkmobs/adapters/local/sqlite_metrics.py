"""``SQLiteMetrics``: model usage rows, summed per model over a time range with an indexed query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase, to_micros
from milkmobs.domain import ModelType, ModelUsage, UsageTotals
from milkmobs.ports import Clock


class SQLiteMetrics:
    """Metrics on a :class:`SQLiteDatabase`. Usage without a timestamp is stamped with ``clock.now()``."""

    def __init__(self, db: SQLiteDatabase, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def record_usage(self, usage: Sequence[ModelUsage]) -> None:
        if not usage:
            return
        now = self._clock.now()
        rows = [
            (
                to_micros(item.at or now),
                item.model_id,
                ModelType(item.model_type).value,
                item.invocations,
                item.input_tokens,
                item.output_tokens,
                item.video_seconds,
            )
            for item in usage
        ]
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO model_usage (at_us, model_id, model_type, invocations, input_tokens, output_tokens,"
                " video_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def usage_between(self, start: datetime, end: datetime) -> list[UsageTotals]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT model_id, model_type, SUM(invocations), SUM(input_tokens), SUM(output_tokens),"
                " SUM(video_seconds) FROM model_usage WHERE at_us >= ? AND at_us < ?"
                " GROUP BY model_id, model_type ORDER BY model_id, model_type",
                (to_micros(start), to_micros(end)),
            ).fetchall()
        return [
            UsageTotals(
                model_id=model_id,
                model_type=ModelType(model_type),
                invocations=int(invocations),
                input_tokens=int(input_tokens),
                output_tokens=int(output_tokens),
                video_seconds=float(video_seconds),
            )
            for model_id, model_type, invocations, input_tokens, output_tokens, video_seconds in rows
        ]
