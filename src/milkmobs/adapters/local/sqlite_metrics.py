"""``SQLiteMetrics``: model usage rows, summed per model over a time range with an indexed query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase, to_micros
from milkmobs.domain import ModelType, ModelUsage, UsageTotals
from milkmobs.domain.usage import bucket_starts, new_usage_row
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

    def usage_between(self, start: datetime, end: datetime, *, step: timedelta | None = None) -> list[UsageTotals]:
        starts = bucket_starts(start, end, step) if step is not None else []
        start_us = to_micros(start)
        # Integer division by the step's width numbers each row's bucket; without a step, all are bucket 0.
        step_us = max(1, step // timedelta(microseconds=1)) if step is not None else None
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT model_id, model_type, (at_us - ?) / ?, SUM(invocations), SUM(input_tokens),"
                " SUM(output_tokens), SUM(video_seconds) FROM model_usage WHERE at_us >= ? AND at_us < ?"
                " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                (start_us, step_us or (to_micros(end) - start_us + 1), start_us, to_micros(end)),
            ).fetchall()
        totals: dict[tuple[str, str], UsageTotals] = {}
        for model_id, model_type, bucket, invocations, input_tokens, output_tokens, video_seconds in rows:
            row = totals.get((model_id, model_type))
            if row is None:
                row = totals[(model_id, model_type)] = new_usage_row(model_id, ModelType(model_type), starts)
            row.count(
                int(bucket) if step_us is not None else None,
                invocations=int(invocations),
                input_tokens=int(input_tokens),
                output_tokens=int(output_tokens),
                video_seconds=float(video_seconds),
            )
        return list(totals.values())
