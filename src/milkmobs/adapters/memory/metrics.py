"""Model-usage metrics kept as a list of timestamped usage records."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from milkmobs.domain import ModelUsage, UsageTotals
from milkmobs.domain.usage import bucket_starts, new_usage_row
from milkmobs.ports import Clock


class InMemoryMetrics:
    """Records every ModelUsage (stamped with the clock when ``at`` is missing) and sums them on read."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._records: list[ModelUsage] = []
        self._lock = threading.Lock()

    def record_usage(self, usage: Sequence[ModelUsage]) -> None:
        now = self._clock.now()
        stamped = [u.stamped(now) for u in usage]
        with self._lock:
            self._records.extend(stamped)

    def usage_between(self, start: datetime, end: datetime, *, step: timedelta | None = None) -> list[UsageTotals]:
        starts = bucket_starts(start, end, step) if step is not None else []
        totals: dict[tuple[str, str], UsageTotals] = {}
        with self._lock:
            records = list(self._records)
        for usage in records:
            if usage.at is None or not start <= usage.at < end:  # every record is stamped on the way in
                continue
            key = (usage.model_id, usage.model_type.value)
            row = totals.get(key)
            if row is None:
                row = totals[key] = new_usage_row(usage.model_id, usage.model_type, starts)
            row.count(
                (usage.at - start) // step if step is not None else None,
                invocations=usage.invocations,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                video_seconds=usage.video_seconds,
            )
        return [totals[key] for key in sorted(totals)]
