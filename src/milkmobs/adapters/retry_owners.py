"""Who retries each kind of failure, with what budget, and how many calls it can cost at worst.

Computed from the declarations themselves (the clients' retry budgets, the adapters' loops, the
workflow's retry policies), so the table in docs/architecture.md ("Retries") cannot drift from the
code: ``python -m milkmobs.adapters.retry_owners`` prints it and a test compares the two.

The worst case of a failure is the owner's tries times the runs the workflow gives the step when
the owner hands the failure on: one, unless a workflow policy matched it too, which is the defect
this module exists to expose (``tests/unit/test_retry_ownership.py`` refuses it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from milkmobs.adapters.aws.clients import BEDROCK_MAX_ATTEMPTS, BEDROCK_TEXT_MAX_ATTEMPTS, MAX_ATTEMPTS
from milkmobs.adapters.aws.dynamodb_mobs import COUNT_ATTEMPTS
from milkmobs.adapters.aws.dynamodb_videos import BATCH_GET_ROUNDS, WRITE_ATTEMPTS
from milkmobs.adapters.aws.eventbridge import FAILED_ENTRY_ATTEMPTS
from milkmobs.adapters.aws.factory_models import OPENSEARCH_MAX_RETRIES
from milkmobs.adapters.aws.opensearch.transport import longest_retry_wait_seconds
from milkmobs.adapters.local.sqlite_db import DEFAULT_BUSY_TIMEOUT_MS
from milkmobs.core.limits import LIMITS
from milkmobs.core.optimistic import ATTEMPTS as OPTIMISTIC_ATTEMPTS
from milkmobs.core.workflow import ANALYSIS_WORKFLOW, EmitEvent, RetryPolicy, StepTimeout, WorkflowDefinition
from milkmobs.domain import BackendUnavailableError, ConflictError, TransientAnalysisError


@dataclass(frozen=True)
class BelowTheWorkflow:
    """A failure a layer under the workflow retries; ``leaves`` is what reaches the step after it gave up."""

    kind: str
    owner: str
    tries: int
    budget: str
    leaves: type[Exception]


#: Every kind of failure a layer under the workflow owns. Its ``leaves`` must match no workflow
#: policy: the step then fails once, with the owner's message, instead of running again.
BELOW_THE_WORKFLOW: tuple[BelowTheWorkflow, ...] = (
    BelowTheWorkflow(
        "throttling, 5xx or a connection fault of a DynamoDB, S3, EventBridge, CloudWatch or Step Functions call",
        "botocore, standard mode (`adapters/aws/clients.py`)",
        MAX_ATTEMPTS,
        f"{MAX_ATTEMPTS} tries, waits ≤ {LIMITS.aws_retry_wait_seconds} s",
        BackendUnavailableError,
    ),
    BelowTheWorkflow(
        "throttling, 5xx, `ModelNotReadyException` or a connection fault of a Bedrock call",
        "botocore, standard mode (`adapters/aws/clients.py`)",
        BEDROCK_MAX_ATTEMPTS,
        f"{BEDROCK_MAX_ATTEMPTS} tries, waits ≤ {LIMITS.bedrock_retry_wait_seconds} s",
        BackendUnavailableError,
    ),
    BelowTheWorkflow(
        "the same for a text search's Bedrock call, which answers the API (a person waiting, API Gateway's 29 s)",
        "botocore, standard mode (`adapters/aws/clients.py`)",
        BEDROCK_TEXT_MAX_ATTEMPTS,
        f"{BEDROCK_TEXT_MAX_ATTEMPTS} tries, {LIMITS.bedrock_text_call_seconds} s at most in all",
        BackendUnavailableError,
    ),
    BelowTheWorkflow(
        "OpenSearch answering 429, 502-504, timing out or unreachable",
        "opensearch-py's transport, backing off (`adapters/aws/opensearch/transport.py`)",
        1 + OPENSEARCH_MAX_RETRIES,
        f"{1 + OPENSEARCH_MAX_RETRIES} tries, waits ≤ {longest_retry_wait_seconds(OPENSEARCH_MAX_RETRIES):g} s",
        BackendUnavailableError,
    ),
    BelowTheWorkflow(
        "a stale copy: a video or mob saved by another writer since it was read (every store's `save` is a "
        "compare-and-set on its revision or version: `VersionConflictError`, nothing written)",
        "the core (`core/optimistic.py`): the caller's change applied again to a fresh read",
        OPTIMISTIC_ATTEMPTS,
        f"{OPTIMISTIC_ATTEMPTS} tries",
        ConflictError,  # a VersionConflictError: no policy may name it, nor any base of it
    ),
    BelowTheWorkflow(
        "a DynamoDB `TransactionConflict` on a video's write (its counter shard held by another transaction)",
        "`DynamoDBVideoStore`: the same write again",
        WRITE_ATTEMPTS,
        f"{WRITE_ATTEMPTS} tries",
        ConflictError,
    ),
    BelowTheWorkflow(
        "a version conflict on a mob's video count",
        "`DynamoDBMobStore.adjust_count`: add, else clamp at 0",
        2 * COUNT_ATTEMPTS,
        f"{COUNT_ATTEMPTS} rounds of 2 writes",
        ConflictError,
    ),
    BelowTheWorkflow(
        "keys a `BatchGetItem` left unprocessed (HTTP 200: botocore never sees them)",
        "the DynamoDB stores, for those keys only",
        BATCH_GET_ROUNDS,
        f"{BATCH_GET_ROUNDS} rounds",
        BackendUnavailableError,
    ),
    BelowTheWorkflow(
        "entries `PutEvents` refused (HTTP 200 with `FailedEntryCount`: botocore never sees them), in process",
        "`EventBridgeEventBus`, for those entries only",
        FAILED_ENTRY_ATTEMPTS,
        f"{FAILED_ENTRY_ATTEMPTS} tries",
        BackendUnavailableError,
    ),
    BelowTheWorkflow(
        "a busy SQLite database (local backend)",
        "SQLite's busy timeout, inside the one call",
        1,
        f"waits ≤ {DEFAULT_BUSY_TIMEOUT_MS // 1000} s",
        BackendUnavailableError,
    ),
)


@dataclass(frozen=True)
class Row:
    """One line of the table: a kind of failure, who retries it, its budget, its worst case in calls."""

    kind: str
    owner: str
    budget: str
    worst_case_calls: int


def policies(definition: WorkflowDefinition = ANALYSIS_WORKFLOW) -> Iterator[tuple[str, RetryPolicy]]:
    """Every (step name, retry policy) of the workflow."""
    for step in definition.retrying_steps():
        for policy in step.retry:
            yield step.name, policy


def runs_of_a_step_failing_with(error: type[BaseException], definition: WorkflowDefinition = ANALYSIS_WORKFLOW) -> int:
    """The most runs any step gets when each run fails with ``error``: 1 + the retries of the first
    policy matching it (the one Step Functions and the in-process interpreter both apply)."""
    runs = 1
    for step in definition.retrying_steps():
        matching = next((p for p in step.retry if issubclass(error, p.errors)), None)
        if matching is not None:
            runs = max(runs, 1 + matching.max_attempts)
    return runs


def double_retries(definition: WorkflowDefinition = ANALYSIS_WORKFLOW) -> list[str]:
    """Every workflow policy that retries what a layer under it already retried (a class it hands on,
    a base of it, or a subclass of it): empty while each kind of failure has one owner."""
    found: list[str] = []
    for step_name, policy in policies(definition):
        for error in policy.errors:
            for below in BELOW_THE_WORKFLOW:
                if issubclass(below.leaves, error) or issubclass(error, below.leaves):
                    found.append(
                        f"{step_name} retries {error.__name__}, which {below.owner} already retried: {below.kind}"
                    )
    return found


def _steps_by_runs(error: type[BaseException], definition: WorkflowDefinition) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for step in definition.retrying_steps():
        matching = next((p for p in step.retry if issubclass(error, p.errors)), None)
        if matching is not None:
            found.setdefault(1 + matching.max_attempts, []).append(step.name)
    return found


def _runner_faults_by_runs(definition: WorkflowDefinition, *, emit: bool) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for step in definition.retrying_steps():
        if isinstance(step, EmitEvent) is not emit:
            continue
        policy = next((p for p in step.retry if p.runner_faults), None)
        if policy is not None:
            found.setdefault(1 + policy.max_attempts, []).append(step.name)
    return found


def rows(definition: WorkflowDefinition = ANALYSIS_WORKFLOW) -> list[Row]:
    """The whole table, the layers under the workflow first."""
    table = [
        Row(f.kind, f.owner, f.budget, f.tries * runs_of_a_step_failing_with(f.leaves, definition))
        for f in BELOW_THE_WORKFLOW
    ]
    workflow = "the workflow (Step Functions `Retry`; the in-process interpreter)"
    owned: list[tuple[str, str, dict[int, list[str]]]] = [
        (
            "a model's own fault botocore does not retry (`ModelErrorException`, `ModelTimeoutException`, "
            "`ServiceQuotaExceededException`), or a later upload of the video still being removed: "
            "`TransientAnalysisError`",
            workflow,
            _steps_by_runs(TransientAnalysisError, definition),
        ),
        (
            "a step that ran out of time (`StepTimeout`; `States.Timeout`)",
            workflow,
            _steps_by_runs(StepTimeout, definition),
        ),
        (
            "the Lambda service failing to invoke a step's function (AWS)",
            "Step Functions `Retry` (runner faults)",
            _runner_faults_by_runs(definition, emit=False),
        ),
        (
            "EventBridge refusing or failing the state machine's `PutEvents` (AWS: a direct integration, no "
            "Lambda and no botocore, so the state machine is the only layer)",
            "Step Functions `Retry` (runner faults)",
            _runner_faults_by_runs(definition, emit=True),
        ),
    ]
    for kind, owner, by_runs in owned:
        for runs, steps in sorted(by_runs.items()):
            table.append(Row(kind, owner, f"{runs} runs of {', '.join(steps)}", runs))
    return table


def markdown_table(definition: WorkflowDefinition = ANALYSIS_WORKFLOW) -> str:
    """The table as docs/architecture.md prints it."""
    lines = ["| kind of failure | owner | budget | worst case, calls |", "|---|---|---|---|"]
    lines += [f"| {r.kind} | {r.owner} | {r.budget} | **{r.worst_case_calls}** |" for r in rows(definition)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
