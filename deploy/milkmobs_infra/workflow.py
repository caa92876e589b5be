"""Workflow: the Step Functions state machine, generated from ``milkmobs.core.workflow``.

Nothing about the pipeline is described here: the steps, branches, polling loop, retry policies,
timeouts and the catch all come from ``ANALYSIS_WORKFLOW``. This module only says how each kind
of step becomes Step Functions states:

- ``Task``: a Lambda task (function ARN as resource, so the payload is the state and the output
  replaces it), ``Parameters`` from its input fields and constants, its own timeout and Retry.
- ``PollUntilDone``: start (its answer kept as ``{result, polls: 0}``) → Choice(done?) → Wait →
  check → count → …, ending in ``<name>TimedOut`` (``States.Timeout``) after ``max_polls`` checks.
- ``Merge``: the Parallel names its branches' outputs (``ResultSelector``), one Pass picks the
  given ``$[i].field`` paths. ``Choice``: a Choice and its branch, both continuing at the next step.
- ``EmitEvent``: the direct EventBridge ``PutEvents`` integration (no Lambda in between).
- The ``Catch``: every top-level state that can fail catches into ``Record<step>Failure`` (adds the
  step name), then the catch task, then the Fail state with the original error.

Standard workflows bill every state entered (docs/capacity.md): no state exists only to join
branches or to end the execution, the last step ends it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from milkmobs.adapters.aws.sfn_names import (
    EVENTBRIDGE_SERVICE_ERRORS,
    LAMBDA_SERVICE_ERRORS,
    TIMEOUT_ERROR,
    error_names,
)
from milkmobs.core.workflow import (
    Choice,
    EmitEvent,
    Jitter,
    Merge,
    Parallel,
    PollUntilDone,
    RetryPolicy,
    Step,
    Task,
    Wait,
    WorkflowDefinition,
)
from milkmobs_infra._util import retention

JITTER = {Jitter.FULL: sfn.JitterType.FULL, Jitter.NONE: sfn.JitterType.NONE}


class _Continues(Protocol):
    """A state, or a Choice's paths, that the next step follows."""

    def next(self, next: sfn.IChainable) -> sfn.Chain: ...


@dataclass
class _Chain:
    """A translated step: where it starts, what continues after it, and which states can fail."""

    start: sfn.IChainable
    ends: list[_Continues]
    catchable: list[tuple[str, sfn.TaskStateBase | sfn.Parallel]]


class AnalysisWorkflow(Construct):
    """``VideoAnalysisStateMachine``: the core's workflow on Step Functions, logged and traced."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: WorkflowDefinition,
        functions: Mapping[str, lambda_.IFunction],
        event_bus: events.IEventBus,
        state_machine_name: str,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        missing = sorted(set(definition.lambda_functions()) - set(functions))
        if missing:
            raise ValueError(f"the workflow needs Lambda functions the stack does not define: {missing}")
        self.definition = definition
        self.state_machine_name = state_machine_name
        self._definition = definition
        self._functions = functions
        self._bus = event_bus
        body = self._build()
        log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"/aws/vendedlogs/states/{state_machine_name}",
            retention=retention(log_retention_days),
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            comment=definition.comment,
            definition_body=sfn.DefinitionBody.from_chainable(body),
            timeout=cdk.Duration.seconds(definition.timeout_seconds),
            tracing_enabled=True,
            # Execution data (states' input and output: embeddings, insights) stays out of the logs.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )

    # --- the whole machine -------------------------------------------------------------------------
    def _build(self) -> sfn.IChainable:
        catch = self._definition.catch
        failed = sfn.Fail(
            self,
            catch.fail_state,
            comment="The analysis failed; the video records the step and the error.",
            error_path=f"$.{catch.error_field}.Error",
            cause_path=f"$.{catch.error_field}.Cause",
        )
        mark_failed = self._task(catch.task, result_path=sfn.JsonPath.DISCARD)
        mark_failed.next(failed)
        chain = self._sequence(self._definition.steps)
        for step_name, state in chain.catchable:
            record = sfn.Pass(
                self,
                f"Record{step_name}Failure",
                comment=f"Name the failing step ({step_name}) for {catch.task.handler}.",
                result=sfn.Result.from_string(step_name),
                result_path=f"$.{catch.step_field}",
            )
            record.next(mark_failed)
            state.add_catch(record, errors=error_names(catch.errors), result_path=f"$.{catch.error_field}")
        # No Succeed state: it would be one more billed transition; the last step ends the execution.
        return chain.start

    def _sequence(self, steps: Sequence[Step]) -> _Chain:
        for previous, step in itertools.pairwise([None, *steps]):
            if isinstance(step, Merge) and not isinstance(previous, Parallel):
                raise ValueError(f"{step.name}: a Merge must follow a Parallel step")
        chains = [self._step(step, following) for step, following in zip(steps, [*steps[1:], None], strict=True)]
        for previous, following in itertools.pairwise(chains):
            for end in previous.ends:
                end.next(following.start)
        return _Chain(
            start=chains[0].start,
            ends=chains[-1].ends,
            catchable=[c for chain in chains for c in chain.catchable],
        )

    # --- one step ---------------------------------------------------------------------------------
    def _step(self, step: Step, following: Step | None) -> _Chain:
        if isinstance(step, Task):
            task = self._task(step)
            return _Chain(task, [task], [(step.name, task)])
        if isinstance(step, Parallel):
            return self._parallel(step, following if isinstance(following, Merge) else None)
        if isinstance(step, Merge):
            return self._merge(step)  # the Parallel before it named its branches
        if isinstance(step, Choice):
            return self._choice(step)
        if isinstance(step, EmitEvent):
            # Not caught: the analysis is stored by now, and the catch would mark the video failed.
            emit = self._emit(step)
            return _Chain(emit, [emit], [])
        if isinstance(step, PollUntilDone):
            return self._poll(step)
        if isinstance(step, Wait):
            wait = sfn.Wait(self, step.name, time=sfn.WaitTime.duration(cdk.Duration.seconds(step.seconds)))
            return _Chain(wait, [wait], [])
        raise TypeError(f"the workflow has a step this deploy cannot translate: {step!r}")

    def _task(
        self,
        task: Task,
        *,
        parameters_from: str = "$",
        result_path: str | None = None,
        result_selector: Mapping[str, object] | None = None,
    ) -> tasks.LambdaInvoke:
        payload: dict[str, object] = {
            name: sfn.JsonPath.string_at(f"{parameters_from}.{name}") for name in task.input_fields
        }
        payload.update(task.constants)
        state = tasks.LambdaInvoke(
            self,
            task.name,
            lambda_function=self._functions[task.handler],
            comment=task.comment,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,  # the function's answer is the new state
            retry_on_service_exceptions=False,  # the core's retry policy names the Lambda errors itself
            task_timeout=sfn.Timeout.duration(cdk.Duration.seconds(task.timeout_seconds)),
            result_path=result_path,
            result_selector=dict(result_selector) if result_selector is not None else None,
        )
        _add_retries(state, task.retry, LAMBDA_SERVICE_ERRORS)
        return state

    def _parallel(self, step: Parallel, merge: Merge | None) -> _Chain:
        # A Merge after it reads the branch outputs by name: the Parallel's ResultSelector names
        # them, so naming costs no state (and no billed transition) of its own.
        branches = [] if merge is None else sorted({i for i, _ in _merge_picks(merge).values()})
        names = {f"branch{i}": sfn.JsonPath.object_at(f"$[{i}]") for i in branches} or None
        parallel = sfn.Parallel(self, step.name, comment=step.comment, result_selector=names)
        for branch in step.branches:
            chain = self._sequence(branch)
            # Errors inside a branch fail the Parallel, whose catch handles them.
            parallel.branch(sfn.Chain.start(chain.start))
        return _Chain(parallel, [parallel], [(step.name, parallel)])

    def _merge(self, step: Merge) -> _Chain:
        """One Pass picking the fields from the branch outputs the Parallel named ``branch<i>``.

        Equivalent to one Pass with ``$[i].field`` paths, which Step Functions accepts; moto's
        interpreter, though, answers such a path with a one-element list, and the tests run there.
        """
        picks = _merge_picks(step)
        pick = sfn.Pass(
            self,
            step.name,
            comment="Pick the fields the next steps read from the named branch outputs.",
            parameters={name: sfn.JsonPath.string_at(f"$.branch{i}.{field}") for name, (i, field) in picks.items()},
        )
        return _Chain(pick, [pick], [])

    def _choice(self, step: Choice) -> _Chain:
        then = self._sequence(step.then)
        choice = sfn.Choice(self, step.name, comment=f"{step.field} == {step.equals!r}?")
        choice.when(sfn.Condition.string_equals(f"$.{step.field}", step.equals), then.start)
        # No join state: the branch's end and the Choice's default both go on to the next step.
        return _Chain(choice, [choice.afterwards(include_otherwise=True)], then.catchable)

    def _emit(self, step: EmitEvent) -> tasks.EventBridgePutEvents:
        emit = tasks.EventBridgePutEvents(
            self,
            step.name,
            comment=f"{step.detail_type} from {step.source} on {step.event_bus_name}",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    detail=sfn.TaskInput.from_json_path_at(f"$.{step.detail_field}"),
                    detail_type=step.detail_type,
                    source=step.source,
                    event_bus=self._bus,
                )
            ],
            result_path=sfn.JsonPath.DISCARD,  # the execution's output stays the video's final state
            task_timeout=sfn.Timeout.duration(cdk.Duration.seconds(step.timeout_seconds)),
        )
        _add_retries(emit, step.retry, EVENTBRIDGE_SERVICE_ERRORS)
        return emit

    def _poll(self, step: PollUntilDone) -> _Chain:
        # The start task keeps its answer as {result, polls: 0} itself (no Pass state to do it).
        start = self._task(step.start, result_selector={"result": sfn.JsonPath.entire_payload, "polls": 0})
        finished = sfn.Pass(self, f"{step.name}Finished", output_path="$.result")
        timed_out = sfn.Fail(
            self,
            f"{step.name}TimedOut",
            error=TIMEOUT_ERROR,
            cause=f"{step.name}: not done after {step.max_polls} checks",
        )
        wait = sfn.Wait(self, step.wait.name, time=sfn.WaitTime.duration(cdk.Duration.seconds(step.wait.seconds)))
        check = self._task(step.check, parameters_from="$.result", result_path="$.result")
        count = sfn.Pass(
            self,
            f"{step.name}CountCheck",
            parameters={
                "result": sfn.JsonPath.object_at("$.result"),
                "polls": sfn.JsonPath.math_add(sfn.JsonPath.number_at("$.polls"), 1),
            },
        )
        done = sfn.Condition.and_(
            sfn.Condition.is_present(f"$.result.{step.done_field}"),
            sfn.Condition.boolean_equals(f"$.result.{step.done_field}", True),
        )
        is_done = sfn.Choice(self, f"{step.name}IsDone")
        is_done.when(done, finished)
        is_done.when(sfn.Condition.number_greater_than_equals("$.polls", step.max_polls), timed_out)
        is_done.otherwise(wait)
        start.next(is_done)
        wait.next(check).next(count).next(is_done)
        return _Chain(start, [finished], [])


def _merge_picks(step: Merge) -> dict[str, tuple[int, str]]:
    """Output field → (branch index, field path) of each ``$[i].field`` the Merge names."""
    picks: dict[str, tuple[int, str]] = {}
    for name, path in step.fields.items():
        match = re.fullmatch(r"\$\[(\d+)\]\.([A-Za-z_][\w.]*)", path)
        if match is None:
            raise ValueError(f"{step.name}: only $[i].field paths can be merged, got {name}: {path}")
        picks[name] = (int(match.group(1)), match.group(2))
    return picks


def _add_retries(state: sfn.TaskStateBase, policies: Sequence[RetryPolicy], runner_faults: tuple[str, ...]) -> None:
    """The core's retry policies in Step Functions' names; ``runner_faults`` are the task runner's own."""
    for policy in policies:
        state.add_retry(
            errors=error_names(policy.errors, runner_faults=runner_faults if policy.runner_faults else ()),
            interval=_whole_seconds(policy.interval_seconds, "interval"),
            max_attempts=policy.max_attempts,
            backoff_rate=policy.backoff_rate,
            max_delay=None if policy.max_delay_seconds is None else _whole_seconds(policy.max_delay_seconds, "delay"),
            jitter_strategy=JITTER[policy.jitter],
        )


def _whole_seconds(seconds: float, what: str) -> cdk.Duration:
    # Step Functions takes whole seconds only; refuse rather than silently round a policy.
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(f"Step Functions retry {what} must be a whole number of seconds >= 1, got {seconds}")
    return cdk.Duration.seconds(int(seconds))
