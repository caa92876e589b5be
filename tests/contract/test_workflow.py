"""Workflow contract: one execution per video, named by it, with its steps recorded."""

from __future__ import annotations

from typing import Any

from milkmobs.domain import ExecutionStatus, StepStatus


def test_an_execution_runs_to_success_and_records_its_steps(workflow: Any) -> None:
    flow, new_video, settle = workflow
    video_id = new_video()
    started = flow.start(video_id)
    assert started.already_started is False
    assert started.execution_id
    settle(video_id)
    (record,) = flow.history(video_id)
    assert record.execution_id == started.execution_id
    assert record.video_id == video_id
    assert record.status is ExecutionStatus.SUCCEEDED
    assert record.stopped_at is not None and record.stopped_at >= record.started_at
    assert record.steps, "each step is recorded"
    for step in record.steps:
        assert step.name
        assert step.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
        assert step.ended_at is None or step.ended_at >= step.started_at
        assert step.error is None


def test_a_second_start_starts_nothing_new(workflow: Any) -> None:
    flow, new_video, settle = workflow
    video_id = new_video()
    first = flow.start(video_id)
    again = flow.start(video_id)
    assert again.already_started is True
    assert again.execution_id == first.execution_id
    settle(video_id)
    assert len(flow.history(video_id)) == 1


def test_executions_are_kept_per_video(workflow: Any) -> None:
    flow, new_video, settle = workflow
    one, two = new_video(), new_video()
    flow.start(one)
    flow.start(two)
    settle(one)
    settle(two)
    assert [r.video_id for r in flow.history(one)] == [one]
    assert [r.video_id for r in flow.history(two)] == [two]


def test_an_unknown_video_has_no_history(workflow: Any) -> None:
    flow, _, _ = workflow
    assert flow.history("ffffffffffffffffffffffffffffffff") == []
