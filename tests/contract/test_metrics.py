"""Metrics contract: usage recorded per model and read back over a time range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from milkmobs.domain import ModelType, ModelUsage

PEGASUS = "twelvelabs.pegasus-1-2-v1:0"
MARENGO = "twelvelabs.marengo-embed-3-0-v1:0"


def _base() -> datetime:
    # Recent, whole minute: backends that keep recent data only (CloudWatch) still answer.
    return (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)


def _by_model(rows: list[Any]) -> dict[str, Any]:
    by_model = {row.model_id: row for row in rows}
    assert len(by_model) == len(rows), "one row per model"
    return by_model


def test_usage_is_summed_per_model_inside_the_range(metrics: Any) -> None:
    base = _base()
    metrics.record_usage(
        [
            ModelUsage(
                model_id=PEGASUS,
                model_type=ModelType.PEGASUS,
                input_tokens=400,
                output_tokens=120,
                video_seconds=12.5,
                at=base + timedelta(minutes=10),
            ),
            ModelUsage(
                model_id=MARENGO, model_type=ModelType.MARENGO, video_seconds=12.5, at=base + timedelta(minutes=10)
            ),
        ]
    )
    metrics.record_usage(
        [
            ModelUsage(
                model_id=PEGASUS,
                model_type=ModelType.PEGASUS,
                input_tokens=600,
                output_tokens=80,
                video_seconds=7.5,
                at=base + timedelta(minutes=40),
            ),
            ModelUsage(
                model_id=MARENGO, model_type=ModelType.MARENGO, input_tokens=5, at=base + timedelta(minutes=41)
            ),  # a text embedding
        ]
    )
    rows = _by_model(metrics.usage_between(base, base + timedelta(hours=1)))
    assert set(rows) == {PEGASUS, MARENGO}
    pegasus, marengo = rows[PEGASUS], rows[MARENGO]
    assert pegasus.model_type == ModelType.PEGASUS
    assert (pegasus.invocations, pegasus.input_tokens, pegasus.output_tokens) == (2, 1000, 200)
    assert pegasus.video_seconds == pytest.approx(20.0)
    assert marengo.model_type == ModelType.MARENGO
    assert (marengo.invocations, marengo.input_tokens, marengo.output_tokens) == (2, 5, 0)
    assert marengo.video_seconds == pytest.approx(12.5)
    assert pegasus.estimated_cost_usd is None and marengo.estimated_cost_usd is None  # the core prices them


def test_usage_outside_the_range_is_left_out(metrics: Any) -> None:
    base = _base()
    for minutes, seconds in [(-30, 1.0), (15, 2.0), (45, 4.0), (90, 8.0)]:
        metrics.record_usage(
            [
                ModelUsage(
                    model_id=PEGASUS,
                    model_type=ModelType.PEGASUS,
                    input_tokens=10,
                    video_seconds=seconds,
                    at=base + timedelta(minutes=minutes),
                )
            ]
        )
    (row,) = metrics.usage_between(base, base + timedelta(hours=1))
    assert row.invocations == 2
    assert row.input_tokens == 20
    assert row.video_seconds == pytest.approx(6.0)
    (late,) = metrics.usage_between(base + timedelta(minutes=30), base + timedelta(hours=2))
    assert late.video_seconds == pytest.approx(12.0)
    assert metrics.usage_between(base + timedelta(hours=2), base + timedelta(hours=3)) == []


def test_usage_without_a_time_counts_as_now(metrics: Any) -> None:
    metrics.record_usage([ModelUsage(model_id=MARENGO, model_type=ModelType.MARENGO, video_seconds=3.0)])
    now = datetime.now(UTC)
    (row,) = metrics.usage_between(now - timedelta(minutes=10), now + timedelta(minutes=10))
    assert row.model_id == MARENGO and row.invocations == 1
    assert row.video_seconds == pytest.approx(3.0)


def test_nothing_recorded_reads_as_empty(metrics: Any) -> None:
    now = datetime.now(UTC)
    assert metrics.usage_between(now - timedelta(days=30), now) == []


def test_buckets_split_the_totals_over_time(metrics: Any) -> None:
    base = _base()
    step = timedelta(minutes=15)

    def pegasus(minutes: int, seconds: float) -> ModelUsage:
        return ModelUsage(
            model_id=PEGASUS, model_type=ModelType.PEGASUS, input_tokens=10, video_seconds=seconds,
            at=base + timedelta(minutes=minutes),
        )  # fmt: skip

    # 15 is the second bucket's first instant; 61 is past the range
    metrics.record_usage([pegasus(1, 1.0), pegasus(14, 2.0), pegasus(15, 4.0), pegasus(50, 8.0), pegasus(61, 16.0)])
    metrics.record_usage(
        [ModelUsage(model_id=MARENGO, model_type=ModelType.MARENGO, video_seconds=5.0, at=base + timedelta(minutes=31))]
    )
    rows = _by_model(metrics.usage_between(base, base + timedelta(hours=1), step=step))
    starts = [base + i * step for i in range(4)]
    peg, mar = rows[PEGASUS], rows[MARENGO]
    assert [b.start for b in peg.buckets] == starts == [b.start for b in mar.buckets]
    assert [b.invocations for b in peg.buckets] == [2, 1, 0, 1]
    assert [b.input_tokens for b in peg.buckets] == [20, 10, 0, 10]
    assert [b.video_seconds for b in peg.buckets] == pytest.approx([3.0, 4.0, 0.0, 8.0])
    assert [b.invocations for b in mar.buckets] == [0, 0, 1, 0]
    assert peg.invocations == sum(b.invocations for b in peg.buckets) == 4
    assert peg.video_seconds == pytest.approx(15.0)
    assert all(b.estimated_cost_usd is None for b in peg.buckets)
    assert all(row.buckets == [] for row in metrics.usage_between(base, base + timedelta(hours=1)))


def test_the_last_bucket_is_cut_at_the_end_of_the_range(metrics: Any) -> None:
    base = _base()
    metrics.record_usage(
        [
            ModelUsage(model_id=PEGASUS, model_type=ModelType.PEGASUS, video_seconds=s, at=base + timedelta(minutes=m))
            for m, s in [(10, 1.0), (49, 2.0), (50, 4.0)]
        ]
    )
    (row,) = metrics.usage_between(base, base + timedelta(minutes=50), step=timedelta(minutes=30))
    assert [b.start for b in row.buckets] == [base, base + timedelta(minutes=30)]
    assert [b.video_seconds for b in row.buckets] == pytest.approx([1.0, 2.0])
    assert row.invocations == 2
