"""The analysis workflow, described once.

This module is the single description of the pipeline that both runners execute:

- ``milkmobs.core.orchestrator.InProcessOrchestrator`` runs it in the process (memory and local
  backends), the two analysis branches on threads;
- ``deploy/`` turns it into the Step Functions state machine (it imports :data:`ANALYSIS_WORKFLOW`,
  it never re-describes it).

The state is camelCase JSON. It starts as ``{"videoId": "<id>"}``. Every :class:`Task` receives
the fields named in ``input_fields`` (plus its ``constants``) and its output *replaces* the state
(Step Functions: ``Parameters`` built from ``input_fields``/``constants``, default ``ResultPath``).
The task's ``handler`` is both the key of ``milkmobs.core.steps.STEP_HANDLERS`` and the name of the
seed's Lambda function that runs it in AWS, so an AWS handler is one line:
``return STEP_HANDLERS[name](app, event)``.

State flow (what each step reads → returns)::

    {videoId}
      MarkProcessing      analysis-mark-processing  {videoId} → {videoId, status}
      AnalyzeVideo        Parallel, output [pegasus, marengo]
        ├ PegasusAnalysis analysis-pegasus          {videoId} → {videoId, insights}
        └ Embedding       poll loop:
            StartEmbedding  analysis-marengo (action=start) {videoId} → {videoId, done, job, embedding}
            (done? exit) → WaitForEmbedding (Wait) → CheckEmbedding analysis-marengo (action=check)
                            {videoId, job} → {videoId, done, job, embedding} → back to (done?)
      MergeResults        Pass: {videoId: $[0].videoId, insights: $[0].insights, embedding: $[1].embedding}
      WriteResults        analysis-write-result     {videoId, insights, embedding} → {videoId}
      ValidateVideo       validate-video            {videoId} → {videoId, status, validation, event}
      IsValidated         Choice: status == "validated" → ClusterVideo, otherwise straight on
        ClusterVideo      cluster-video             {videoId} → {videoId, status, mobId, event}
      EmitVideoAnalyzed   EventBridge PutEvents of $.event (source milk-mobs.analysis, VideoAnalyzed)
      → Succeed

Any error in a top-level step goes to the one :class:`Catch`: the state that entered the failing
step plus ``failedStep`` (that step's name) and ``error`` = ``{"Error": <error name>, "Cause":
<message, or Lambda's JSON error document>}`` is passed to ``analysis-mark-failed``, which records
the step and error on the video (status ``failed``, out of the index and its mob), then the
execution ends in the ``AnalysisFailed`` Fail state. Nothing is emitted for a failed video, so no
event ever says something false. Rejected videos take the Choice's default branch and emit too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from milkmobs.domain import EVENT_BUS_NAME, EVENT_SOURCE, VideoAnalyzed

#: The Lambda service's own transient errors (Step Functions reports them under these names).
LAMBDA_SERVICE_ERRORS: tuple[str, ...] = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
#: Error name of a step that exceeded its ``timeout_seconds`` (same name in both runners).
TIMEOUT_ERROR = "States.Timeout"
#: Matches every error (used by the catch).
ALL_ERRORS = "States.ALL"


class Jitter(StrEnum):
    """Step Functions ``JitterStrategy``: FULL draws each delay uniformly from [0, delay]."""

    FULL = "FULL"
    NONE = "NONE"


@dataclass(frozen=True)
class RetryPolicy:
    """One Step Functions ``Retry`` rule.

    ``errors`` are matched by exact name: the class name of the milkmobs error a handler raised
    (Lambda reports it as ``errorType``), a Lambda service error, or ``States.Timeout``.
    ``max_attempts`` counts *retries* after the first call, as in Step Functions' ``MaxAttempts``.
    The n-th retry waits ``interval_seconds · backoff_rate^(n-1)``, capped by ``max_delay_seconds``.
    """

    errors: tuple[str, ...]
    interval_seconds: float
    max_attempts: int
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: Jitter = Jitter.FULL

    def matches(self, error_name: str) -> bool:
        return error_name in self.errors or ALL_ERRORS in self.errors

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
    ``<name>TimedOut`` (error ``States.Timeout``) after ``max_polls`` checks — the execution timeout
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
    integration; in process: the ``handler`` of STEP_HANDLERS, which publishes through the EventBus)."""

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

    errors: tuple[str, ...]
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

    def lambda_functions(self) -> list[str]:
        """The distinct handler / Lambda function names, in order of first use."""
        return list(dict.fromkeys(task.handler for task in self.tasks()))


def _tasks(steps: tuple[Step, ...]) -> Iterator[Task]:
    for step in steps:
        if isinstance(step, Task):
            yield step
        elif isinstance(step, PollUntilDone):
            yield step.start
            yield step.check
        elif isinstance(step, Parallel):
            for branch in step.branches:
                yield from _tasks(branch)
        elif isinstance(step, Choice):
            yield from _tasks(step.then)


# --- the retry policies ---------------------------------------------------------------------------

#: Model calls: throttling and 5xx pass; back off generously (Bedrock quotas are per minute).
MODEL_RETRY = RetryPolicy(
    errors=("TransientAnalysisError", "BackendUnavailableError", *LAMBDA_SERVICE_ERRORS),
    interval_seconds=2.0,
    max_attempts=4,
    backoff_rate=2.0,
    max_delay_seconds=30.0,
)
#: A model call that ran out of time: try once more.
MODEL_TIMEOUT_RETRY = RetryPolicy(errors=(TIMEOUT_ERROR,), interval_seconds=5.0, max_attempts=1)
#: Store and index writes: short outages and throttling.
STORE_RETRY = RetryPolicy(
    errors=("BackendUnavailableError", *LAMBDA_SERVICE_ERRORS, TIMEOUT_ERROR),
    interval_seconds=1.0,
    max_attempts=3,
    backoff_rate=2.0,
    max_delay_seconds=10.0,
)
#: Publishing the event (EventBridge's own errors included, for the PutEvents integration).
EVENT_RETRY = RetryPolicy(
    errors=("BackendUnavailableError", "EventBridge.EventBridgeException", TIMEOUT_ERROR),
    interval_seconds=1.0,
    max_attempts=3,
    backoff_rate=2.0,
)

ANALYSIS_WORKFLOW = WorkflowDefinition(
    name="VideoAnalysisStateMachine",
    comment="milkmobs: mark processing, Pegasus insights ∥ Marengo embedding, write, validate, cluster, emit",
    timeout_seconds=600,
    steps=(
        Task(
            name="MarkProcessing",
            handler="analysis-mark-processing",
            comment="Move the video from uploaded to processing (and probe the file where a media processor exists).",
            timeout_seconds=30,
            retry=(STORE_RETRY,),
        ),
        Parallel(
            name="AnalyzeVideo",
            comment="The two video models run at the same time.",
            branches=(
                (
                    Task(
                        name="PegasusAnalysis",
                        handler="analysis-pegasus",
                        comment="Pegasus describes the video (insights JSON); usage is recorded as metrics.",
                        timeout_seconds=300,
                        retry=(MODEL_RETRY, MODEL_TIMEOUT_RETRY),
                    ),
                ),
                (
                    PollUntilDone(
                        name="Embedding",
                        start=Task(
                            name="StartEmbedding",
                            handler="analysis-marengo",
                            comment="Start the Marengo embedding job (or embed at once when the model is blocking).",
                            timeout_seconds=300,
                            retry=(MODEL_RETRY, MODEL_TIMEOUT_RETRY),
                            constants=MappingProxyType({"action": "start"}),
                        ),
                        wait=Wait(name="WaitForEmbedding", seconds=10),
                        check=Task(
                            name="CheckEmbedding",
                            handler="analysis-marengo",
                            comment="Is the embedding job done? If so, its embedding.",
                            timeout_seconds=60,
                            retry=(MODEL_RETRY, MODEL_TIMEOUT_RETRY),
                            input_fields=("videoId", "job"),
                            constants=MappingProxyType({"action": "check"}),
                        ),
                        max_polls=50,
                    ),
                ),
            ),
        ),
        Merge(
            name="MergeResults",
            fields=MappingProxyType(
                {"videoId": "$[0].videoId", "insights": "$[0].insights", "embedding": "$[1].embedding"}
            ),
        ),
        Task(
            name="WriteResults",
            handler="analysis-write-result",
            comment="Store insights and embedding on the record, and the vector in the index.",
            timeout_seconds=30,
            retry=(STORE_RETRY,),
            input_fields=("videoId", "insights", "embedding"),
        ),
        Task(
            name="ValidateVideo",
            handler="validate-video",
            comment="Score the insights against the campaign: validated or rejected.",
            timeout_seconds=30,
            retry=(STORE_RETRY,),
        ),
        Choice(
            name="IsValidated",
            field="status",
            equals="validated",
            then=(
                Task(
                    name="ClusterVideo",
                    handler="cluster-video",
                    comment="Join the nearest mob or found a new one (O(k·d), O(1) store calls).",
                    timeout_seconds=30,
                    retry=(STORE_RETRY,),
                ),
            ),
        ),
        EmitEvent(
            name="EmitVideoAnalyzed",
            handler="emit-analyzed",
            detail_field="event",
            source=EVENT_SOURCE,
            detail_type=VideoAnalyzed.detail_type,
            event_bus_name=EVENT_BUS_NAME,
            timeout_seconds=30,
            retry=(EVENT_RETRY,),
        ),
    ),
    catch=Catch(
        errors=(ALL_ERRORS,),
        task=Task(
            name="MarkFailed",
            handler="analysis-mark-failed",
            comment="Record the failing step and error on the video (status failed); emit nothing.",
            timeout_seconds=30,
            retry=(STORE_RETRY,),
            input_fields=("videoId", "failedStep", "error"),
        ),
        fail_state="AnalysisFailed",
    ),
)
