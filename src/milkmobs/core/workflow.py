"""The analysis workflow, described once.

This module is the single description of the pipeline that both runners execute:

- ``milkmobs.adapters.inprocess.InProcessOrchestrator`` runs it in the process (memory and local
  backends), the two analysis branches on threads;
- ``deploy/`` turns it into the Step Functions state machine (it imports :data:`ANALYSIS_WORKFLOW`,
  it never re-describes it).

The state is camelCase JSON. It starts as ``{"videoId": "<id>"}``. Every :class:`Task` receives
the fields named in ``input_fields`` (plus its ``constants``) and its output *replaces* the state
(Step Functions: ``Parameters`` built from ``input_fields``/``constants``, default ``ResultPath``).
The task's ``handler`` is both the key of ``milkmobs.core.steps.STEP_HANDLERS`` and the name of the
seed's Lambda function that runs it in AWS, so an AWS handler is one line:
``return STEP_HANDLERS[name](app.context, event)``.

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
step plus ``failedStep`` (that step's name) and ``error`` = ``{"name": <the exception class's name>,
"message": <its readable message>}`` is passed to ``analysis-mark-failed`` (in AWS its Lambda reads
Step Functions' ``{"Error", "Cause"}`` into that shape), which records
the step and error on the video (status ``failed``, out of the index and its mob), then the
execution ends in the ``AnalysisFailed`` Fail state. Nothing is emitted for a failed video, so no
event ever says something false. Rejected videos take the Choice's default branch and emit too.
The emit step is the one exception to the catch: it runs after the result is stored, so when
publishing fails for good the execution ends FAILED with that error and the video keeps its result.

Every timeout comes from ``milkmobs.core.limits.LIMITS`` (derived from the longest accepted video).
"""

from __future__ import annotations

from types import MappingProxyType

from milkmobs.core.limits import LIMITS
from milkmobs.core.workflow_model import (
    Catch,
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
from milkmobs.domain import (
    EVENT_BUS_NAME,
    EVENT_SOURCE,
    TransientAnalysisError,
    VideoAnalyzed,
)

__all__ = [
    "ANALYSIS_WORKFLOW",
    "EVENT_RETRY",
    "MODEL_RETRY",
    "MODEL_TIMEOUT_RETRY",
    "STORE_RETRY",
    "Catch",
    "Choice",
    "EmitEvent",
    "Jitter",
    "Merge",
    "Parallel",
    "PollUntilDone",
    "RetryPolicy",
    "Step",
    "StepTimeout",
    "Task",
    "Wait",
    "WorkflowDefinition",
]

# --- the retry policies ---------------------------------------------------------------------------
#
# Each kind of failure has one owner (docs/architecture.md, "Retries"). A call's throttling, 5xx and
# connection faults belong to the layer under the step (botocore for AWS, SQLite's busy timeout
# locally): when that layer gives up it raises ``BackendUnavailableError``, which fails the step at
# once (the catch records which video, which step and what to do). So these policies name only what
# no lower layer can retry: a step out of time, the step runner's own faults, and a model's own
# retryable answer. ``tests/unit/test_retry_ownership.py`` keeps it so.

#: A model answered with a fault a later run may get past (``TransientAnalysisError``: Bedrock's
#: ``ModelErrorException``, ``ModelTimeoutException``, ``ServiceQuotaExceededException``, which
#: botocore never retries). Back off generously: Bedrock quotas are per minute.
MODEL_RETRY = RetryPolicy(
    errors=(TransientAnalysisError,),
    interval_seconds=2.0,
    max_attempts=4,
    backoff_rate=2.0,
    max_delay_seconds=30.0,
    runner_faults=True,
)
#: A model call that ran out of time: try once more.
MODEL_TIMEOUT_RETRY = RetryPolicy(errors=(StepTimeout,), interval_seconds=5.0, max_attempts=1)
#: Store and index steps: a run that ran out of time, or that the runner failed to start.
STORE_RETRY = RetryPolicy(
    errors=(StepTimeout,),
    interval_seconds=1.0,
    max_attempts=3,
    backoff_rate=2.0,
    max_delay_seconds=10.0,
    runner_faults=True,
)
#: Publishing the event. In AWS a direct PutEvents integration (no Lambda, no botocore), so the state
#: machine is the only layer: its runner faults are EventBridge's errors, a refused entry (HTTP 200
#: with ``FailedEntryCount``) among them. In process the event bus adapter owns those.
EVENT_RETRY = RetryPolicy(
    errors=(StepTimeout,),
    interval_seconds=1.0,
    max_attempts=5,
    backoff_rate=2.0,
    max_delay_seconds=10.0,
    runner_faults=True,
)

ANALYSIS_WORKFLOW = WorkflowDefinition(
    name="VideoAnalysisStateMachine",
    comment="milkmobs: mark processing, Pegasus insights ∥ Marengo embedding, write, validate, cluster, emit",
    timeout_seconds=LIMITS.execution_seconds,
    steps=(
        Task(
            name="MarkProcessing",
            handler="analysis-mark-processing",
            comment="Move the video from uploaded to processing (and probe the file where a media processor exists).",
            timeout_seconds=LIMITS.store_step_seconds,
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
                        timeout_seconds=LIMITS.model_task_seconds,
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
                            timeout_seconds=LIMITS.model_task_seconds,
                            retry=(MODEL_RETRY, MODEL_TIMEOUT_RETRY),
                            constants=MappingProxyType({"action": "start"}),
                        ),
                        wait=Wait(name="WaitForEmbedding", seconds=LIMITS.marengo_poll_interval_seconds),
                        check=Task(
                            name="CheckEmbedding",
                            handler="analysis-marengo",
                            comment="Is the embedding job done? If so, its embedding.",
                            timeout_seconds=LIMITS.marengo_check_timeout_seconds,
                            retry=(MODEL_RETRY, MODEL_TIMEOUT_RETRY),
                            input_fields=("videoId", "job"),
                            constants=MappingProxyType({"action": "check"}),
                        ),
                        max_polls=LIMITS.marengo_max_polls,
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
            timeout_seconds=LIMITS.store_step_seconds,
            retry=(STORE_RETRY,),
            input_fields=("videoId", "insights", "embedding"),
        ),
        Task(
            name="ValidateVideo",
            handler="validate-video",
            comment="Score the insights against the campaign: validated or rejected.",
            timeout_seconds=LIMITS.store_step_seconds,
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
                    timeout_seconds=LIMITS.store_step_seconds,
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
            timeout_seconds=LIMITS.store_step_seconds,
            retry=(EVENT_RETRY,),
        ),
    ),
    catch=Catch(
        errors=(Exception,),
        task=Task(
            name="MarkFailed",
            handler="analysis-mark-failed",
            comment="Record the failing step and error on the video (status failed); emit nothing.",
            timeout_seconds=LIMITS.store_step_seconds,
            retry=(STORE_RETRY,),
            input_fields=("videoId", "failedStep", "error"),
        ),
        fail_state="AnalysisFailed",
    ),
)
