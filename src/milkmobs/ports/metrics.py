"""Model-usage metrics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from milkmobs.domain import ModelUsage, UsageTotals


class Metrics(Protocol):
    def record_usage(self, usage: Sequence[ModelUsage]) -> None:
        """Record invocations, tokens and video seconds (timestamped by ``usage.at``)."""
        ...

    def usage_between(self, start: datetime, end: datetime, *, step: timedelta | None = None) -> list[UsageTotals]:
        """Totals per model for ``start <= at < end`` (``estimated_cost_usd`` left None: the core prices it).

        With ``step``, each row also carries its ``buckets``: one per
        ``milkmobs.domain.usage.bucket_starts(start, end, step)``, zeros included, summing to the row.
        Models with no usage in the range have no row.
        """
        ...
