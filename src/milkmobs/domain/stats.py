"""Admin statistics, and the one rule for what a video contributes to them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pydantic import Field

from milkmobs.domain.base import DomainModel
from milkmobs.domain.video import Video, VideoStatus


class VideoStats(DomainModel):
    """Totals the admin view shows; stores keep them cheap (counters, not scans)."""

    total_videos: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)
    active_mobs: int = 0
    average_validation_score: float | None = None
    average_seconds_to_validate: float | None = None
    videos_last_hour: int = Field(default=0, description="Videos submitted during the last hour")
    videos_last_hour_capped: bool = Field(
        default=False, description="True when the count stopped at its bound: there were at least that many"
    )

    def with_activity(self, *, active_mobs: int, videos_last_hour: int, capped: bool) -> VideoStats:
        """The store's counters completed with what is counted at read time: mobs with members and
        the videos submitted during the last hour (``capped`` when that count reached its bound)."""
        return self.model_copy(
            update={"active_mobs": active_mobs, "videos_last_hour": videos_last_hour, "videos_last_hour_capped": capped}
        )


#: Named running totals a store keeps so ``stats()`` never scans: ``status:<status>`` counts, plus
#: sums and counts for the two averages. Every backend keeps exactly these, written in the same
#: transaction as the record they describe.
StatsCounters = dict[str, Decimal]

_SCORE, _SECONDS = "validation_score", "seconds_to_validate"


def stats_contribution(video: Video | None) -> StatsCounters:
    """What ``video`` adds to the counters (nothing for None)."""
    if video is None:
        return {}
    result: StatsCounters = {f"status:{video.status.value}": Decimal(1)}
    if video.validation is not None:
        result[f"{_SCORE}_sum"] = Decimal(repr(float(video.validation.score)))
        result[f"{_SCORE}_count"] = Decimal(1)
    if video.status is VideoStatus.VALIDATED and video.completed_at is not None:
        elapsed = video.completed_at - video.created_at
        # exact decimal seconds, so removing the same video later cancels exactly
        seconds = Decimal(elapsed.days * 86400 + elapsed.seconds) + Decimal(elapsed.microseconds) / Decimal(1_000_000)
        result[f"{_SECONDS}_sum"] = seconds
        result[f"{_SECONDS}_count"] = Decimal(1)
    return result


def stats_change(new: Video | None, old: Video | None) -> StatsCounters:
    """``contribution(new) - contribution(old)`` without zero entries: what one write applies."""
    plus, minus = stats_contribution(new), stats_contribution(old)
    delta = {name: plus.get(name, Decimal(0)) - minus.get(name, Decimal(0)) for name in plus.keys() | minus.keys()}
    return {name: value for name, value in delta.items() if value != 0}


def stats_from_counters(counters: Mapping[str, Decimal | float | int]) -> VideoStats:
    """The admin figures from the summed counters (``active_mobs`` is the core's to fill)."""

    def total(name: str) -> Decimal:
        return Decimal(str(counters.get(name, 0)))

    def mean(name: str) -> float | None:
        count = total(f"{name}_count")
        return float(total(f"{name}_sum") / count) if count > 0 else None

    counts = {status.value: int(total(f"status:{status.value}").to_integral_value()) for status in VideoStatus}
    by_status = {status: count for status, count in counts.items() if count > 0}
    return VideoStats(
        total_videos=sum(by_status.values()),
        by_status=by_status,
        average_validation_score=mean(_SCORE),
        average_seconds_to_validate=mean(_SECONDS),
    )
