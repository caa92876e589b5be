"""ExecutionLog contract: records by id, replaced in place, listed newest first per video."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from milkmobs.domain import ExecutionRecord, ExecutionStatus, NotFoundError, StepRecord, StepStatus
from tests.contract.support import T0


def record(
    execution_id: str, video_id: str, *, minutes: int = 0, status: ExecutionStatus = ExecutionStatus.RUNNING
) -> ExecutionRecord:
    started = T0 + timedelta(minutes=minutes)
    return ExecutionRecord(
        execution_id=execution_id,
        video_id=video_id,
        status=status,
        started_at=started,
        steps=[StepRecord(name="mark_processing", status=StepStatus.SUCCEEDED, started_at=started, ended_at=started)],
    )


def test_put_then_get_round_trips(execution_log: Any) -> None:
    rec = record("e1", "v1")
    execution_log.put(rec)
    assert execution_log.get("e1") == rec


def test_put_with_the_same_id_replaces(execution_log: Any) -> None:
    execution_log.put(record("e1", "v1"))
    started = T0
    done = record("e1", "v1", status=ExecutionStatus.FAILED).model_copy(
        update={
            "stopped_at": started + timedelta(seconds=9),
            "error": "describe: model unavailable",
            "steps": [
                StepRecord(name="mark_processing", status=StepStatus.SUCCEEDED, started_at=started, ended_at=started),
                StepRecord(
                    name="describe",
                    status=StepStatus.FAILED,
                    started_at=started,
                    ended_at=started + timedelta(seconds=9),
                    attempts=3,
                    error="TransientAnalysisError: throttled",
                ),
            ],
        }
    )
    execution_log.put(done)
    assert execution_log.get("e1") == done
    assert execution_log.list_for_video("v1") == [done]


def test_get_unknown_is_not_found(execution_log: Any) -> None:
    with pytest.raises(NotFoundError):
        execution_log.get("nope")


def test_list_for_video_is_newest_first_and_only_that_video(execution_log: Any) -> None:
    for execution_id, video_id, minutes in [("e1", "v1", 0), ("e2", "v2", 1), ("e3", "v1", 5), ("e4", "v1", 2)]:
        execution_log.put(record(execution_id, video_id, minutes=minutes))
    assert [r.execution_id for r in execution_log.list_for_video("v1")] == ["e3", "e4", "e1"]
    assert [r.execution_id for r in execution_log.list_for_video("v2")] == ["e2"]
    assert execution_log.list_for_video("v3") == []


def test_list_running_is_every_running_execution_oldest_first(execution_log: Any) -> None:
    assert execution_log.list_running() == []
    execution_log.put(record("e1", "v1", minutes=3))
    execution_log.put(record("e2", "v2", minutes=1))
    execution_log.put(record("e3", "v3", minutes=2, status=ExecutionStatus.SUCCEEDED))
    execution_log.put(record("e4", "v4", minutes=0, status=ExecutionStatus.FAILED))
    assert [r.execution_id for r in execution_log.list_running()] == ["e2", "e1"]
    execution_log.put(record("e2", "v2", minutes=1, status=ExecutionStatus.SUCCEEDED))  # finished since
    assert [r.execution_id for r in execution_log.list_running()] == ["e1"]
    assert execution_log.list_running()[0] == record("e1", "v1", minutes=3)
