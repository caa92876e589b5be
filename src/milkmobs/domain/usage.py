"""Model usage: what each Bedrock (or stand-in) call cost.

Only models with a price have a cost: the Bedrock model ids, at their price per second of video.
Other analyzers' models (local, fake) have none, and their ``estimated_cost_usd`` stays ``None``
(JSON ``null``, "not priced"), never a made-up ``0``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from milkmobs.domain.base import DomainModel


class ModelType(StrEnum):
    PEGASUS = "pegasus"
    MARENGO = "marengo"


class ModelUsage(DomainModel):
    """One model invocation."""

    model_id: str
    model_type: ModelType
    invocations: int = Field(default=1, ge=0)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    video_seconds: float = Field(default=0.0, ge=0)
    at: datetime | None = None

    def stamped(self, at: datetime) -> ModelUsage:
        """The invocation with its time set (kept when it already had one)."""
        return self if self.at is not None else self.model_copy(update={"at": at})


COST_DESCRIPTION = "USD at the model's price per second of video; null when the model has no price (not Bedrock)"


def _cost(video_seconds: float, price_per_second: float | None) -> float | None:
    return None if price_per_second is None else round(video_seconds * price_per_second, 6)


class UsageBucket(DomainModel):
    """Usage of one model in one time bucket ``[start, start + step)``."""

    start: datetime
    invocations: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    video_seconds: float = 0.0
    estimated_cost_usd: float | None = Field(default=None, description=COST_DESCRIPTION)

    def priced(self, price_per_second: float | None) -> UsageBucket:
        """The bucket with its estimated cost at ``price_per_second`` of video analysed (None: not priced)."""
        return self.model_copy(update={"estimated_cost_usd": _cost(self.video_seconds, price_per_second)})


class UsageTotals(DomainModel):
    """Usage of one model over a time range, with the estimated cost.

    ``buckets`` (when asked for with a step) split the same totals over time: every bucket of the
    range is present, zeros included, and they add up to the row.
    """

    model_id: str
    model_type: ModelType
    invocations: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    video_seconds: float = 0.0
    estimated_cost_usd: float | None = Field(default=None, description=COST_DESCRIPTION)
    buckets: list[UsageBucket] = Field(default_factory=list)

    def priced(self, price_per_second: float | None) -> UsageTotals:
        """The row and each of its buckets with the estimated cost at ``price_per_second`` of video
        (None: the model has no price, and neither has any of its buckets)."""
        return self.model_copy(
            update={
                "estimated_cost_usd": _cost(self.video_seconds, price_per_second),
                "buckets": [bucket.priced(price_per_second) for bucket in self.buckets],
            }
        )

    def count(
        self, bucket: int | None, *, invocations: int, input_tokens: int, output_tokens: int, video_seconds: float
    ) -> None:
        """Add usage to the row and, when ``bucket`` is given, to that bucket too."""
        targets: list[UsageTotals | UsageBucket] = [self] if bucket is None else [self, self.buckets[bucket]]
        for target in targets:
            target.invocations += invocations
            target.input_tokens += input_tokens
            target.output_tokens += output_tokens
            target.video_seconds += video_seconds


def bucket_starts(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """The starts of the buckets ``[start + i·step, start + (i+1)·step)`` covering ``[start, end)``."""
    if step <= timedelta(0):
        raise ValueError(f"a usage bucket step must be positive, got {step}")
    count = max(0, math.ceil((end - start) / step))
    return [start + i * step for i in range(count)]


def new_usage_row(model_id: str, model_type: ModelType, starts: list[datetime]) -> UsageTotals:
    """A zero row for one model, with a zero bucket at each of ``starts``."""
    return UsageTotals(model_id=model_id, model_type=model_type, buckets=[UsageBucket(start=at) for at in starts])


class UsageReport(DomainModel):
    range: str
    start: datetime
    end: datetime
    bucket_seconds: int = Field(default=0, ge=0, description="Width of each model's buckets (0: no buckets)")
    models: list[UsageTotals] = Field(default_factory=list)
    total_estimated_cost_usd: float | None = Field(
        default=0.0,
        description="The sum of the priced models' costs; null when models were used and none of them has a price",
    )
