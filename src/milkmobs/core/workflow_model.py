"""The vocabulary of workflow descriptions: typed, immutable steps with Step Functions semantics.

``core/workflow.py`` uses it to describe the analysis workflow once; the in-process engine
interprets it and ``deploy/`` translates it into Amazon States Language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class StepTimeout(Exception):
    """A step ran longer than its ``timeout_seconds``, or a poll ran out of checks."""


#: Errors are named by their classes; a runner translates them into its own names (``deploy/`` into
#: Step Functions' ``ErrorEquals``), so renaming a class can never silently stop its retries.
ErrorClass = type[BaseException]


class Jitter(StrEnum):
    """Step Functions ``JitterStrategy``: FULL draws each delay uniformly from [0, delay]."""

    FULL = "FULL"
    NONE = "NONE"


@dataclass(frozen=True)
class RetryPolicy:
    """One retry rule (a Step Functions ``Retry``).

    ``errors`` are the exception classes it applies to (subclasses included); :class:`StepTimeout`
    for a step that ran out of time. ``runner_faults`` also retries the step runner's own transient
    faults (in AWS, the Lambda service's errors). ``max_attempts`` counts *retries* after the first
    call, as in Step Functions' ``MaxAttempts``. The n-th retry waits
    ``interval_seconds · backoff_rate^(n-1)``, capped by ``max_delay_seconds``.
    """

    errors: tuple[ErrorClass, ...]
    interval_seconds: float
    max_attempts: int
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: Jitter = Jitter.FULL
    runner_faults: bool = False

    def matches(self, error: BaseException) -> bool:
        """Whether this rule applies to ``error``."""
        return isinstance(error, self.errors)

    def delay_before_retry(self, retry_number: int) -> float:
        """The delay before retry ``retry_number`` (1-based), before jitter."""
        delay = self.interval_seconds * self.backoff_rate ** max(0, retry_number - 1)
        return min(delay, self.max_delay_seconds) if self.max_delay_seconds is not None else delay


@dataclass(frozen=True)
class Task:
    """A step that runs one handler (a Lambda function in AWS, a function call in process)."""

    name: str
    handler: str
    comment: str
    timeout_seconds: int
    retry: tuple[RetryPolicy, ...]
    input_fields: tuple[str, ...] = ("videoId",)
    constants: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def build_input(self, state: Mapping[str, object]) -> dict[str, object]:
        """The handler's input: the named fields of ``state`` (those present) plus the constants."""
        payload: dict[str, object] = {name: state[name] for name in self.input_fields if name in state}
        payload.update(self.constants)
        return payload


@dataclass(frozen=True)
class Wait:
    """Pause (Step Functions ``Wait`` state)."""

    name: str
    seconds: int


@dataclass(frozen=True)
class PollUntilDone:
    """``start``, then while ``state[done_field]`` is false: ``wait`` and ``check`` (at most ``max_polls``).

    In Step Functions: start → Choice(done?) → Wait → check → back to the Choice; a Fail state
    ``<name>TimedOut`` (a :class:`StepTimeout`) after ``max_polls`` checks — the execution timeout
    also bounds it.
    """

    name: str
    start: Task
    wait: Wait
    check: Task
    max_polls: int
    done_field: str = "done"


@dataclass(frozen=True)
class Parallel:
    """Run ``branches`` concurrently; the output is the list of branch outputs, in branch order.
    If a branch fails, the whole state fails with that branch's error."""

    name: str
    comment: str
    branches: tuple[tuple[Step, ...], ...]


@dataclass(frozen=True)
class Merge:
    """A Pass state reshaping the previous output: ``fields`` maps output field → JSONPath
    (only ``$[i].field`` paths into the Parallel's output list)."""

    name: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Choice:
    """If ``state[field] == equals`` run ``then`` and continue; otherwise continue directly."""

    name: str
    field: str
    equals: str
    then: tuple[Step, ...]


@dataclass(frozen=True)
class EmitEvent:
    """Publish ``state[detail_field]`` as one event (Step Functions: the EventBridge PutEvents
    integration; in process: the ``handler`` of STEP_HANDLERS, which publishes through the EventBus).

    The event announces a finished analysis, so its failure never reaches the catch (which would
    mark the video failed and undo the result): once its retries are spent the execution ends
    FAILED with the publishing error, and the video keeps its result."""

    name: str
    handler: str
    detail_field: str
    source: str
    detail_type: str
    event_bus_name: str
    timeout_seconds: int
    retry: tuple[RetryPolicy, ...]


@dataclass(frozen=True)
class Catch:
    """What happens on an error no retry absorbed: run ``task`` (input: the state + ``failedStep`` +
    ``error``), then end the execution in the Fail state ``fail_state`` with that error."""

    errors: tuple[ErrorClass, ...]
    task: Task
    fail_state: str
    step_field: str = "failedStep"
    error_field: str = "error"


Step = Task | Wait | PollUntilDone | Parallel | Merge | Choice | EmitEvent


@dataclass(frozen=True)
class WorkflowDefinition:
    """The whole workflow: top-level steps in order, the execution timeout and the catch."""

    name: str
    comment: str
    timeout_seconds: int
    steps: tuple[Step, ...]
    catch: Catch

    def tasks(self) -> Iterator[Task]:
        """Every Task, in order (the catch's last): e.g. to create their Lambda functions."""
        yield from _tasks(self.steps)
        yield self.catch.task

    def retrying_steps(self) -> Iterator[Task | EmitEvent]:
        """Every step that carries retry policies (the tasks and the event emits), in order."""
        yield from _retrying(self.steps)
        yield self.catch.task

    def lambda_functions(self) -> list[str]:
        """The distinct handler / Lambda function names, in order of first use."""
        return list(dict.fromkeys(task.handler for task in self.tasks()))


def longest_path_seconds(definition: WorkflowDefinition) -> int:
    """How long an execution runs when every step on its longest path uses its whole timeout once
    (no retries): parallel branches count their slowest, a Choice its branch, a polling loop all
    its checks, and the catch's task is added. The execution timeout must cover it."""
    return _path_seconds(definition.steps) + definition.catch.task.timeout_seconds


def _path_seconds(steps: tuple[Step, ...]) -> int:
    total = 0
    for step in steps:
        if isinstance(step, Task | EmitEvent):
            total += step.timeout_seconds
        elif isinstance(step, Wait):
            total += step.seconds
        elif isinstance(step, PollUntilDone):
            total += step.start.timeout_seconds + step.max_polls * (step.wait.seconds + step.check.timeout_seconds)
        elif isinstance(step, Parallel):
            total += max(_path_seconds(branch) for branch in step.branches)
        elif isinstance(step, Choice):
            total += _path_seconds(step.then)
    return total


def _tasks(steps: tuple[Step, ...]) -> Iterator[Task]:
    yield from (step for step in _retrying(steps) if isinstance(step, Task))


def _retrying(steps: tuple[Step, ...]) -> Iterator[Task | EmitEvent]:
    for step in steps:
        if isinstance(step, Task | EmitEvent):
            yield step
        elif isinstance(step, PollUntilDone):
            yield step.start
            yield step.check
        elif isinstance(step, Parallel):
            for branch in step.branches:
                yield from _retrying(branch)
        elif isinstance(step, Choice):
            yield from _retrying(step.then)
