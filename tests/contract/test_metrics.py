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
    assert pegasus.estimated_cost_usd == 0.0 and marengo.estimated_cost_usd == 0.0


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
