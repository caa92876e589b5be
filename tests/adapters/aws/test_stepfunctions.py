"""StepFunctionsWorkflow: history mapping (unit), and real executions of the analysis state machine on moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.adapters.aws.moto_support import AwsOnMoto, aws_app_on_moto

from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.stepfunctions import StepFunctionsWorkflow, steps_from_history
from milkmobs.domain import ConfigurationError, ExecutionStatus, StepStatus, Video, VideoStatus

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def _event(event_id: int, kind: str, previous: int, second: int, **details: Any) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "previousEventId": previous, "timestamp": T0 + timedelta(seconds=second),
            **details}  # fmt: skip


def test_history_maps_task_states_to_steps_with_attempts_and_parallel_failures() -> None:
    entered = lambda name: {"stateEnteredEventDetails": {"name": name}}  # noqa: E731
    exited = lambda name: {"stateExitedEventDetails": {"name": name}}  # noqa: E731
    failed = lambda error, cause: {"lambdaFunctionFailedEventDetails": {"error": error, "cause": cause}}  # noqa: E731
    events = [
        _event(1, "ExecutionStarted", 0, 0),
        _event(2, "TaskStateEntered", 1, 0, **entered("Mark")),
        _event(3, "LambdaFunctionScheduled", 2, 0),
        _event(4, "LambdaFunctionStarted", 3, 0),
        _event(5, "LambdaFunctionSucceeded", 4, 1),
        _event(6, "TaskStateExited", 5, 1, **exited("Mark")),
        _event(7, "ParallelStateEntered", 6, 1),
        _event(8, "TaskStateEntered", 7, 1, **entered("Left")),
        _event(9, "TaskStateEntered", 7, 1, **entered("Right")),
        _event(10, "LambdaFunctionScheduled", 8, 1),
        _event(11, "LambdaFunctionScheduled", 9, 1),
        _event(12, "LambdaFunctionStarted", 11, 1),
        _event(13, "LambdaFunctionStarted", 10, 1),
        # Right fails once (retried), then Left fails for good: failures follow their own chains
        _event(14, "LambdaFunctionFailed", 12, 2, **failed("Transient", "x")),
        _event(15, "LambdaFunctionScheduled", 14, 3),
        _event(16, "LambdaFunctionStarted", 15, 3),
        _event(17, "LambdaFunctionSucceeded", 16, 4),
        _event(18, "TaskStateExited", 17, 4, **exited("Right")),
        _event(19, "LambdaFunctionFailed", 13, 5, **failed("MediaError", "bad")),
        _event(20, "TaskStateExited", 19, 5, **exited("Left")),
        _event(21, "TaskStateEntered", 20, 6, **entered("Stuck")),
    ]  # fmt: skip
    mark, left, right, stuck = steps_from_history(events, execution_running=False)
    assert (mark.name, mark.status, mark.attempts, mark.error) == ("Mark", StepStatus.SUCCEEDED, 1, None)
    assert mark.started_at == T0 and mark.ended_at == T0 + timedelta(seconds=1)
    assert (right.status, right.attempts, right.error) == (StepStatus.SUCCEEDED, 2, None)
    assert (left.status, left.attempts, left.error) == (StepStatus.FAILED, 1, "MediaError: bad")
    assert stuck.status is StepStatus.FAILED and stuck.ended_at is None  # stopped inside it
    (running,) = steps_from_history(events[20:], execution_running=True)
    assert running.status is StepStatus.RUNNING


def test_configuration_errors_name_the_setting(aws: AwsClients) -> None:
    with pytest.raises(ConfigurationError, match="MILKMOBS_AWS__STATE_MACHINE_ARN"):
        StepFunctionsWorkflow(aws.stepfunctions(), "milkmobs-analysis")
    missing = StepFunctionsWorkflow(aws.stepfunctions(), "arn:aws:states:us-east-1:123456789012:stateMachine:gone")
    with pytest.raises(ConfigurationError, match="MILKMOBS_AWS__STATE_MACHINE_ARN"):
        missing.start("v1")
    assert missing.history("v1") == []


def _uploaded_video(env: AwsOnMoto, *, store_media: bool = True) -> str:
    app = env.app
    now = app.ports.clock.now()
    video_id = app.ports.ids.new_id()
    video = Video(
        video_id=video_id, user_id="u1", title="Got milk?", hashtags=["gotmilk"], status=VideoStatus.UPLOADED,
        media_key=f"vid_{video_id}.mp4", created_at=now, updated_at=now, uploaded_at=now,
    )  # fmt: skip
    if store_media:
        app.ports.media.put(video.media_key, b"GOT MILK drinking milk " + video_id.encode())
    app.ports.videos.add(video)
    return video_id


def test_a_failing_step_is_caught_recorded_on_the_video_and_in_the_history() -> None:
    with aws_app_on_moto() as env:
        video_id = _uploaded_video(env, store_media=False)  # the probe finds no file
        started = env.app.workflow.start(video_id)
        assert env.settle(started.execution_id) == "FAILED"
        (record,) = env.app.workflow.history(video_id)
        assert record.status is ExecutionStatus.FAILED and record.error and "AnalysisFailed" in record.error
        by_name = {step.name: step for step in record.steps}
        assert by_name["MarkProcessing"].status is StepStatus.FAILED
        assert "MediaError" in (by_name["MarkProcessing"].error or "")
        assert by_name["MarkFailed"].status is StepStatus.SUCCEEDED
        video = env.app.ports.videos.get(video_id)
        assert video.status is VideoStatus.FAILED and video.failure is not None
        assert video.failure.step == "MarkProcessing"
        assert env.app.stats().by_status == {"failed": 1}


def test_transient_model_errors_are_retried_by_the_state_machine() -> None:
    with aws_app_on_moto(transient_failure_rate=1.0) as env:  # every model call fails once
        video_id = _uploaded_video(env)
        started = env.app.workflow.start(video_id)
        assert env.settle(started.execution_id) == "SUCCEEDED"
        (record,) = env.app.workflow.history(video_id)
        by_name = {step.name: step for step in record.steps}
        assert by_name["PegasusAnalysis"].attempts == 2 and by_name["PegasusAnalysis"].status is StepStatus.SUCCEEDED
        assert by_name["StartEmbedding"].attempts == 2
        assert by_name["MarkProcessing"].attempts == 1
        assert env.app.ports.videos.get(video_id).status in (VideoStatus.VALIDATED, VideoStatus.REJECTED)
