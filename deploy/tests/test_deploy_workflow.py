"""The state machine is the core's workflow description, translated state by state."""

from __future__ import annotations

from typing import Any

from deploy_support import Synth, state_machine_definition
from milkmobs_infra.transitions import all_states

from milkmobs.adapters.aws.sfn_names import (
    ALL_ERRORS,
    EVENTBRIDGE_SERVICE_ERRORS,
    LAMBDA_SERVICE_ERRORS,
    error_names,
)
from milkmobs.core.limits import LIMITS
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

CATCH = ANALYSIS_WORKFLOW.catch


def _definition(synth: Synth) -> dict[str, Any]:
    return state_machine_definition(synth)


def _tasks_by_name() -> dict[str, Task]:
    return {task.name: task for task in ANALYSIS_WORKFLOW.tasks()}


def test_execution_timeout_from_the_limits_table_logging_and_tracing(synth: Synth) -> None:
    (machine,) = synth.resources("AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert _definition(synth)["TimeoutSeconds"] == ANALYSIS_WORKFLOW.timeout_seconds == LIMITS.execution_seconds


def test_top_level_order_follows_the_core(synth: Synth) -> None:
    definition = _definition(synth)
    states = definition["States"]
    order, name = [], definition["StartAt"]
    while name is not None:
        order.append(name)
        state = states[name]
        name = state.get("Next") or state.get("Default")
    # one state per step, no join or end state in between (each entered state is billed)
    assert order == [step.name for step in ANALYSIS_WORKFLOW.steps]
    assert states[order[-1]].get("End") is True
    assert not [s for s in all_states(definition).values() if s["Type"] == "Succeed"]


def test_parallel_runs_pegasus_and_the_marengo_poll_loop(synth: Synth) -> None:
    states = _definition(synth)["States"]
    (parallel,) = [s for s in ANALYSIS_WORKFLOW.steps if isinstance(s, Parallel)]
    branches = states[parallel.name]["Branches"]
    assert states[parallel.name]["Type"] == "Parallel" and len(branches) == 2
    assert branches[0]["StartAt"] == "PegasusAnalysis"
    (poll,) = [s for b in parallel.branches for s in b if isinstance(s, PollUntilDone)]
    marengo = branches[1]["States"]
    assert branches[1]["StartAt"] == poll.start.name
    assert marengo[poll.start.name]["Parameters"] == {"videoId.$": "$.videoId", "action": "start"}
    assert marengo[poll.wait.name] == {"Type": "Wait", "Seconds": poll.wait.seconds, "Next": poll.check.name}
    assert marengo[poll.check.name]["Parameters"]["action"] == "check"
    # the start task keeps its answer and the count itself: no Pass state in between
    assert marengo[poll.start.name]["ResultSelector"] == {"result.$": "$", "polls": 0}
    assert marengo[poll.start.name]["Next"] == f"{poll.name}IsDone"
    is_done = marengo[f"{poll.name}IsDone"]
    assert is_done["Default"] == poll.wait.name
    assert is_done["Choices"][1]["NumericGreaterThanEquals"] == poll.max_polls
    assert marengo[f"{poll.name}TimedOut"]["Error"] == "States.Timeout"


def test_every_task_has_the_core_retry_policy_and_timeout(synth: Synth) -> None:
    states = all_states(_definition(synth))
    tasks = _tasks_by_name()
    for name, task in tasks.items():
        state = states[name]
        assert state["Type"] == "Task" and state["TimeoutSeconds"] == task.timeout_seconds, name
        assert len(state["Retry"]) == len(task.retry), name
        for rule, policy in zip(state["Retry"], task.retry, strict=True):
            assert rule["ErrorEquals"] == error_names(policy.errors, runner_faults=_lambda_faults(policy)), name
            assert rule["IntervalSeconds"] == policy.interval_seconds
            assert rule["MaxAttempts"] == policy.max_attempts
            assert rule["BackoffRate"] == policy.backoff_rate
            assert rule.get("MaxDelaySeconds") == policy.max_delay_seconds
            assert rule["JitterStrategy"] == policy.jitter.value
        # the handler is the Lambda function named after it
        assert state["Resource"].split(":function:")[1].startswith("Functions"), name


def test_no_retry_block_names_a_failure_a_lower_layer_already_retried(synth: Synth) -> None:
    """In AWS too each kind of failure has one owner: botocore (in the Lambda) owns throttling and
    5xx, the adapters version conflicts; what they hand on fails the step once."""
    from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

    from milkmobs.adapters.aws.errors import THROTTLING_CODES, UNAVAILABLE_CODES
    from milkmobs.adapters.retry_owners import BELOW_THE_WORKFLOW

    def with_subclasses(cls: type) -> set[type]:
        return {cls}.union(*(with_subclasses(sub) for sub in cls.__subclasses__()))

    handed_on = {name.__name__ for below in BELOW_THE_WORKFLOW for name in with_subclasses(below.leaves)}
    botocore_retries = {
        *ThrottledRetryableChecker._THROTTLED_ERROR_CODES,
        *TransientRetryableChecker._TRANSIENT_ERROR_CODES,
        *THROTTLING_CODES,
        *UNAVAILABLE_CODES,
    }
    retried = [(name, error) for name, state in all_states(_definition(synth)).items()
               for rule in state.get("Retry", []) for error in rule["ErrorEquals"]]  # fmt: skip
    assert retried, "the state machine retries something"
    for name, error in retried:
        assert error not in handed_on | botocore_retries | {ALL_ERRORS}, (name, error)
    # and what is retried is only what the core's policies name (no Lambda retry added by CDK)
    named = {error for task in ANALYSIS_WORKFLOW.retrying_steps() for policy in task.retry
             for error in error_names(policy.errors)}  # fmt: skip
    assert {e for _, e in retried} <= named | set(LAMBDA_SERVICE_ERRORS) | set(EVENTBRIDGE_SERVICE_ERRORS)


def test_the_emit_step_retries_refused_entries_and_never_reaches_the_catch(synth: Synth) -> None:
    states = _definition(synth)["States"]
    (emit,) = [s.name for s in ANALYSIS_WORKFLOW.steps if isinstance(s, EmitEvent)]
    assert "Catch" not in states[emit]  # the analysis is stored: mark-failed would undo it
    retried = {error for rule in states[emit]["Retry"] for error in rule["ErrorEquals"]}
    assert "EventBridge.FailedEntry" in retried


def test_every_failing_top_level_state_but_the_emit_is_caught_into_mark_failed(synth: Synth) -> None:
    definition = _definition(synth)
    states = definition["States"]
    catchable = [s.name for s in ANALYSIS_WORKFLOW.steps if isinstance(s, Task | Parallel)]
    catchable += [t.name for s in ANALYSIS_WORKFLOW.steps if isinstance(s, Choice) for t in s.then]
    for name in catchable:
        (catch,) = states[name]["Catch"]
        assert catch["ErrorEquals"] == error_names(CATCH.errors) == [ALL_ERRORS]
        assert catch["ResultPath"] == f"$.{CATCH.error_field}"
        record = states[catch["Next"]]
        assert record == {
            "Type": "Pass",
            "Comment": record["Comment"],
            "Result": name,
            "ResultPath": f"$.{CATCH.step_field}",
            "Next": CATCH.task.name,
        }
    mark_failed = states[CATCH.task.name]
    assert mark_failed["Parameters"] == {f"{f}.$": f"$.{f}" for f in CATCH.task.input_fields}
    assert mark_failed["ResultPath"] is None  # keep the error for the Fail state
    fail = states[mark_failed["Next"]]
    assert fail == {
        "Type": "Fail",
        "Comment": fail["Comment"],
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    assert mark_failed["Next"] == CATCH.fail_state


def test_only_validated_videos_are_clustered(synth: Synth) -> None:
    states = _definition(synth)["States"]
    (choice,) = [s for s in ANALYSIS_WORKFLOW.steps if isinstance(s, Choice)]
    state = states[choice.name]
    (rule,) = state["Choices"]
    assert rule == {"Variable": f"$.{choice.field}", "StringEquals": choice.equals, "Next": choice.then[0].name}
    following = ANALYSIS_WORKFLOW.steps[ANALYSIS_WORKFLOW.steps.index(choice) + 1]
    assert state["Default"] == following.name == states[choice.then[-1].name]["Next"]


def test_video_analyzed_goes_straight_to_eventbridge(synth: Synth) -> None:
    states = _definition(synth)["States"]
    (emit,) = [s for s in ANALYSIS_WORKFLOW.steps if isinstance(s, EmitEvent)]
    state = states[emit.name]
    assert state["Resource"] == "arn:aws:states:::events:putEvents"
    (entry,) = state["Parameters"]["Entries"]
    assert entry["Detail.$"] == f"$.{emit.detail_field}"
    assert entry["DetailType"] == "VideoAnalyzed" and entry["Source"] == "milk-mobs.analysis"
    (bus,) = [r for r in synth.resources("AWS::Events::EventBus").values()]
    assert bus["Properties"]["Name"] == emit.event_bus_name == "milk-mobs-bus"
    assert [r["ErrorEquals"] for r in state["Retry"]] == [
        error_names(p.errors, runner_faults=EVENTBRIDGE_SERVICE_ERRORS if p.runner_faults else ()) for p in emit.retry
    ]


def test_merge_picks_the_branch_fields_the_core_names(synth: Synth) -> None:
    states = _definition(synth)["States"]
    (merge,) = [s for s in ANALYSIS_WORKFLOW.steps if isinstance(s, Merge)]
    (parallel,) = [s for s in ANALYSIS_WORKFLOW.steps if isinstance(s, Parallel)]
    # the Parallel names its branch outputs (no state of its own), one Pass picks the fields
    assert states[parallel.name]["ResultSelector"] == {"branch0.$": "$[0]", "branch1.$": "$[1]"}
    assert states[parallel.name]["Next"] == merge.name
    pick = states[merge.name]
    expected = {
        f"{name}.$": path.replace("$[", "$.branch").replace("].", ".", 1) for name, path in merge.fields.items()
    }
    assert pick["Parameters"] == expected


def _lambda_faults(policy: RetryPolicy) -> tuple[str, ...]:
    return LAMBDA_SERVICE_ERRORS if policy.runner_faults else ()
