"""The workflow description is complete and consistent with the step table."""

from __future__ import annotations

import pytest

from milkmobs.core.steps import STEP_HANDLERS
from milkmobs.core.workflow import (
    ANALYSIS_WORKFLOW,
    Choice,
    EmitEvent,
    Merge,
    Parallel,
    PollUntilDone,
    RetryPolicy,
    Task,
)
from milkmobs.domain import (
    EVENT_BUS_NAME,
    EVENT_SOURCE,
    AnalysisError,
    BackendUnavailableError,
    InvalidInputError,
    TransientAnalysisError,
)

SEED_LAMBDAS = [
    "analysis-mark-processing",
    "analysis-pegasus",
    "analysis-marengo",
    "analysis-write-result",
    "validate-video",
    "cluster-video",
]


def test_the_tasks_run_the_seed_lambdas_and_every_handler_exists() -> None:
    assert ANALYSIS_WORKFLOW.lambda_functions() == [*SEED_LAMBDAS, "analysis-mark-failed"]
    for task in ANALYSIS_WORKFLOW.tasks():
        assert task.handler in STEP_HANDLERS
        assert task.comment and 0 < task.timeout_seconds <= ANALYSIS_WORKFLOW.timeout_seconds
        assert task.retry, f"{task.name} has no retry policy"
    emit = ANALYSIS_WORKFLOW.steps[-1]
    assert isinstance(emit, EmitEvent) and emit.handler in STEP_HANDLERS
    assert (emit.source, emit.event_bus_name, emit.detail_type) == (EVENT_SOURCE, EVENT_BUS_NAME, "VideoAnalyzed")


def test_the_shape_is_mark_parallel_merge_write_validate_choice_emit() -> None:
    kinds = [type(step).__name__ for step in ANALYSIS_WORKFLOW.steps]
    assert kinds == ["Task", "Parallel", "Merge", "Task", "Task", "Choice", "EmitEvent"]
    parallel = ANALYSIS_WORKFLOW.steps[1]
    assert isinstance(parallel, Parallel) and len(parallel.branches) == 2
    (pegasus,), (marengo,) = parallel.branches
    assert isinstance(pegasus, Task) and pegasus.handler == "analysis-pegasus"
    assert isinstance(marengo, PollUntilDone)
    assert marengo.start.constants == {"action": "start"} and marengo.check.constants == {"action": "check"}
    assert "job" in marengo.check.input_fields
    merge = ANALYSIS_WORKFLOW.steps[2]
    assert isinstance(merge, Merge) and set(merge.fields) == {"videoId", "insights", "embedding"}
    choice = ANALYSIS_WORKFLOW.steps[5]
    assert isinstance(choice, Choice) and (choice.field, choice.equals) == ("status", "validated")
    assert [t.handler for t in choice.then if isinstance(t, Task)] == ["cluster-video"]
    assert ANALYSIS_WORKFLOW.catch.task.handler == "analysis-mark-failed"


def test_model_steps_retry_model_faults_and_lambda_service_errors_but_not_throttling() -> None:
    parallel = ANALYSIS_WORKFLOW.steps[1]
    assert isinstance(parallel, Parallel)
    pegasus = parallel.branches[0][0]
    assert isinstance(pegasus, Task)
    retried = {error for policy in pegasus.retry for error in policy.errors}
    # throttling is botocore's: what outlasted its budget (BackendUnavailableError) is not run again
    assert TransientAnalysisError in retried and BackendUnavailableError not in retried
    assert all(policy.runner_faults for policy in pegasus.retry if TransientAnalysisError in policy.errors)
    permanent = (AnalysisError("Pegasus refused the video"), InvalidInputError("bad"))
    assert not any(policy.matches(error) for policy in pegasus.retry for error in permanent)  # never retried


def test_retry_delays_back_off_and_are_capped() -> None:
    policy = RetryPolicy(errors=(KeyError,), interval_seconds=2, max_attempts=5, backoff_rate=2, max_delay_seconds=5)
    assert [policy.delay_before_retry(n) for n in range(1, 5)] == [2, 4, 5, 5]
    assert policy.matches(KeyError("x")) and not policy.matches(ValueError("y"))
    assert RetryPolicy(errors=(Exception,), interval_seconds=1, max_attempts=1).matches(RuntimeError("anything"))


def test_task_input_is_the_named_fields_plus_constants() -> None:
    task = Task("T", "h", "c", 1, (), input_fields=("videoId", "job"), constants={"action": "check"})
    assert task.build_input({"videoId": "v", "other": 1}) == {"videoId": "v", "action": "check"}


def test_the_definition_is_immutable() -> None:
    with pytest.raises(AttributeError):
        ANALYSIS_WORKFLOW.timeout_seconds = 1  # type: ignore[misc]
