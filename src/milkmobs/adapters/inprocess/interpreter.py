"""``WorkflowInterpreter``: runs one execution of a workflow description with Step Functions'
semantics — the parallel branches on threads, per-step retry policies with backoff and jitter,
step timeouts, the catch — recording each step in the execution record."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from milkmobs.adapters.inprocess.execution_tracking import ExecutionTracker, call_with_timeout, error_name
from milkmobs.core.steps import StepContext, StepHandler
from milkmobs.core.workflow_model import (
    Choice,
    EmitEvent,
    Jitter,
    Merge,
    Parallel,
    PollUntilDone,
    RetryPolicy,
    Step,
    StepTimeout,
    Task,
    Wait,
    WorkflowDefinition,
)
from milkmobs.domain import ExecutionRecord, ExecutionStatus, Failure, StepStatus
from milkmobs.ports import ExecutionLog

log = logging.getLogger(__name__)

State = Any  # the state machine's JSON: a dict, or the list a Parallel outputs


class _StepFailed(Exception):
    """A step failed for good (no retry left): carries what the catch needs."""

    def __init__(self, step: str, error_name: str, message: str) -> None:
        super().__init__(f"{step}: {error_name}: {message}")
        self.step = step
        self.error_name = error_name
        self.message = message


class _UncaughtFailure(Exception):
    """A step whose failure ends the execution without the catch (the emit step)."""

    def __init__(self, failure: _StepFailed) -> None:
        super().__init__(str(failure))
        self.failure = failure


class WorkflowInterpreter:
    """Interprets ``definition`` with ``handlers`` on ``context`` (the ports and configuration).

    ``retry_interval_scale`` multiplies every retry delay and ``wait_scale`` every Wait state
    (0 in tests: no sleeping); ``timeout_scale`` multiplies step timeouts. ``seed`` makes the
    retry jitter reproducible.
    """

    def __init__(
        self,
        context: StepContext,
        definition: WorkflowDefinition,
        handlers: Mapping[str, StepHandler],
        *,
        retry_interval_scale: float = 1.0,
        wait_scale: float = 1.0,
        timeout_scale: float = 1.0,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        missing = sorted({t.handler for t in definition.tasks()} - set(handlers))
        if missing:
            raise ValueError(f"no step handler for {missing}")
        self._context = context
        self._definition = definition
        self._handlers = dict(handlers)
        self._retry_scale = retry_interval_scale
        self._wait_scale = wait_scale
        self._timeout_scale = timeout_scale
        self._sleep = sleep
        self._random = random.Random(seed)
        self._random_lock = threading.Lock()

    def run(self, record: ExecutionRecord, executions: ExecutionLog, *, failure: Failure | None = None) -> None:
        """Run one execution to its end (SUCCEEDED, or FAILED after the catch), recording every step.

        ``failure``: the video already failed (an execution resumed after the catch began), so only
        the catch runs, with the failure the video records."""
        execution = ExecutionTracker(record, executions, self._context.ports.clock.now)
        execution.close_interrupted_steps()
        state: State = {"videoId": record.video_id}
        if failure is not None:
            self._catch(_StepFailed(failure.step, failure.error_type or "Error", failure.error), state, execution)
            return
        try:
            self._run_steps(self._definition.steps, state, execution)
            execution.finish(ExecutionStatus.SUCCEEDED)
        except _UncaughtFailure as uncaught:
            failure_ = uncaught.failure
            summary = f"{failure_.step} failed with {failure_.error_name}: {failure_.message}"
            execution.finish(ExecutionStatus.FAILED, summary)
        except _StepFailed as failed:
            self._catch(failed, state, execution)
        except Exception as exc:  # a bug in the interpreter itself: never leave RUNNING behind
            log.exception("workflow for video %s crashed", record.video_id)
            self._catch(_StepFailed("orchestrator", error_name(exc), str(exc)), state, execution)

    def _catch(self, failure: _StepFailed, state: State, execution: ExecutionTracker) -> None:
        catch = self._definition.catch
        summary = f"{failure.step} failed with {failure.error_name}: {failure.message}"
        handled = {
            **state,
            catch.step_field: failure.step,
            catch.error_field: {"name": failure.error_name, "message": failure.message},
        }
        try:
            self._run_task(catch.task, handled, execution)
        except _StepFailed as second:
            summary += f"; then {second.step} failed too: {second.error_name}: {second.message}"
        execution.finish(ExecutionStatus.FAILED, summary)

    def _run_steps(self, steps: tuple[Step, ...], state: State, execution: ExecutionTracker) -> State:
        for step in steps:
            try:
                state = self._run_step(step, state, execution)
            except (_StepFailed, _UncaughtFailure):
                raise
            except Exception as exc:  # a Merge or Choice on a malformed state
                raise _StepFailed(step.name, error_name(exc), str(exc)) from exc
        return state

    def _run_step(self, step: Step, state: State, execution: ExecutionTracker) -> State:
        if isinstance(step, Task):
            return self._run_task(step, state, execution)
        if isinstance(step, Wait):
            self._sleep(step.seconds * self._wait_scale)
            return state
        if isinstance(step, PollUntilDone):
            return self._poll(step, state, execution)
        if isinstance(step, Parallel):
            return self._parallel(step, state, execution)
        if isinstance(step, Merge):
            return {field: _resolve(path, state) for field, path in step.fields.items()}
        if isinstance(step, Choice):
            if isinstance(state, Mapping) and state.get(step.field) == step.equals:
                return self._run_steps(step.then, state, execution)
            return state
        if isinstance(step, EmitEvent):
            task = Task(
                name=step.name,
                handler=step.handler,
                comment="publish the event",
                timeout_seconds=step.timeout_seconds,
                retry=step.retry,
                input_fields=("videoId", step.detail_field),
            )
            try:
                self._run_task(task, state, execution)
            except _StepFailed as failure:
                raise _UncaughtFailure(failure) from failure
            return state
        raise TypeError(f"unknown workflow step {step!r}")

    def _poll(self, step: PollUntilDone, state: State, execution: ExecutionTracker) -> State:
        state = self._run_task(step.start, state, execution)
        polls = 0
        while not state.get(step.done_field):
            if polls >= step.max_polls:
                raise _StepFailed(step.name, StepTimeout.__name__, f"not done after {polls} checks")
            self._run_step(step.wait, state, execution)
            state = self._run_task(step.check, state, execution)
            polls += 1
        return state

    def _parallel(self, step: Parallel, state: State, execution: ExecutionTracker) -> list[State]:
        outputs: list[State] = [None] * len(step.branches)
        failures: list[_StepFailed | None] = [None] * len(step.branches)

        def branch(index: int) -> None:
            try:
                outputs[index] = self._run_steps(step.branches[index], dict(state), execution)
            except _StepFailed as failure:
                failures[index] = failure
            except Exception as exc:
                failures[index] = _StepFailed(step.name, error_name(exc), str(exc))

        threads = [
            threading.Thread(target=branch, args=(i,), name=f"milkmobs-{step.name}-{i}", daemon=True)
            for i in range(1, len(step.branches))
        ]
        for thread in threads:
            thread.start()
        branch(0)
        for thread in threads:
            thread.join()
        for failure in failures:
            if failure is not None:
                raise failure
        return outputs

    def _run_task(self, task: Task, state: State, execution: ExecutionTracker) -> State:
        handler = self._handlers[task.handler]
        payload = task.build_input(state)
        index = execution.begin(task.name)
        retries_used = [0] * len(task.retry)
        attempts = 0
        while True:
            attempts += 1
            try:
                output = self._call(handler, payload, task)
            except Exception as exc:
                name, message = error_name(exc), str(exc)
                policy_index = next((i for i, p in enumerate(task.retry) if p.matches(exc)), None)
                if policy_index is not None and retries_used[policy_index] < task.retry[policy_index].max_attempts:
                    retries_used[policy_index] += 1
                    self._sleep(self._delay(task.retry[policy_index], retries_used[policy_index]))
                    continue
                execution.end(index, StepStatus.FAILED, attempts, f"{name}: {message}")
                raise _StepFailed(task.name, name, message) from exc
            execution.end(index, StepStatus.SUCCEEDED, attempts)
            return output

    def _delay(self, policy: RetryPolicy, retry_number: int) -> float:
        delay = policy.delay_before_retry(retry_number) * self._retry_scale
        if policy.jitter is Jitter.FULL and delay > 0:
            with self._random_lock:
                delay = self._random.uniform(0.0, delay)
        return delay

    def _call(self, handler: StepHandler, payload: dict[str, Any], task: Task) -> State:
        """Run the handler, giving up on it after the task's timeout."""
        timeout = task.timeout_seconds * self._timeout_scale
        return call_with_timeout(lambda: handler(self._context, payload), timeout, task.name)


def _resolve(path: str, state: State) -> Any:
    """Evaluate the ``$[i].field`` paths a Merge uses (KeyError/IndexError surface as a failure)."""
    if not path.startswith("$[") or "]." not in path:
        raise ValueError(f"unsupported path {path!r}: only $[i].field")
    index_text, field = path[2:].split("].", 1)
    return state[int(index_text)][field]
