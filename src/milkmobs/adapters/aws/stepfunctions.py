"""Step Functions ``Workflow``: one execution per video, named by the video id."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws.errors import common_translation, error_code, transport_error
from milkmobs.domain import ExecutionRecord, ExecutionStatus, StartResult, StepRecord, StepStatus
from milkmobs.domain.errors import ConfigurationError, InvalidInputError, MilkmobsError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

_STATUS = {
    "RUNNING": ExecutionStatus.RUNNING,
    "PENDING_REDRIVE": ExecutionStatus.RUNNING,
    "SUCCEEDED": ExecutionStatus.SUCCEEDED,
    "FAILED": ExecutionStatus.FAILED,
    "TIMED_OUT": ExecutionStatus.TIMED_OUT,
    "ABORTED": ExecutionStatus.ABORTED,
}
#: History events that end one attempt of a task in failure (Lambda- and service-integration forms).
_FAILED_ATTEMPTS = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
}
_SUCCEEDED_ATTEMPTS = {"TaskSucceeded", "LambdaFunctionSucceeded"}
_SCHEDULED = {"TaskScheduled", "LambdaFunctionScheduled"}


def _utc(moment: datetime) -> datetime:
    """botocore parses timestamps in the local zone; records are UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _translate(exc: ClientError, *, doing: str, video_id: str | None = None) -> MilkmobsError:
    """The milkmobs error for a Step Functions ClientError."""
    code = error_code(exc)
    if code in {"StateMachineDoesNotExist", "StateMachineDeleting", "InvalidArn"}:
        return ConfigurationError(
            f"{doing}: the state machine is missing or being deleted ({code}); check MILKMOBS_AWS__STATE_MACHINE_ARN",
            video_id=video_id,
        )
    if code == "InvalidName":
        return InvalidInputError(f"{doing}: '{video_id}' is not a valid execution name", video_id=video_id)
    return common_translation(exc, doing=doing, video_id=video_id)


@dataclass
class _OpenStep:
    name: str
    started_at: datetime
    ended_at: datetime | None = None
    attempts: int = 0
    exited: bool = False
    last_outcome_failed: bool = False
    error: str | None = None


def steps_from_history(events: Iterable[dict[str, Any]], *, execution_running: bool) -> list[StepRecord]:
    """Task states of an execution history, in the order they were entered.

    A step is a ``TaskStateEntered``..``TaskStateExited`` pair; its attempts are the tasks
    scheduled inside it (retries included); a failure is attributed to its state by following
    ``previousEventId`` back to the entering event, so parallel branches never mix up.
    """
    by_id: dict[int, dict[str, Any]] = {}
    entered_by_event: dict[int, _OpenStep] = {}
    open_by_name: dict[str, _OpenStep] = {}
    steps: list[_OpenStep] = []

    def owner(event: dict[str, Any]) -> _OpenStep | None:
        seen = 0
        current: dict[str, Any] | None = event
        while current is not None and seen < 10_000:
            if current["id"] in entered_by_event:
                return entered_by_event[current["id"]]
            current = by_id.get(int(current.get("previousEventId", 0) or 0))
            seen += 1
        return None

    for event in events:
        by_id[int(event["id"])] = event
        kind = event["type"]
        if kind == "TaskStateEntered":
            step = _OpenStep(name=event["stateEnteredEventDetails"]["name"], started_at=_utc(event["timestamp"]))
            entered_by_event[int(event["id"])] = step
            open_by_name[step.name] = step
            steps.append(step)
        elif kind == "TaskStateExited":
            exited = open_by_name.pop(event["stateExitedEventDetails"]["name"], None)
            if exited is not None:
                exited.exited, exited.ended_at = True, _utc(event["timestamp"])
        elif kind in _SCHEDULED or kind in _SUCCEEDED_ATTEMPTS or kind in _FAILED_ATTEMPTS:
            step_of = owner(event)
            if step_of is None:
                continue
            entered_by_event[int(event["id"])] = step_of  # later events chain through this one
            if kind in _SCHEDULED:
                step_of.attempts += 1
            elif kind in _SUCCEEDED_ATTEMPTS:
                step_of.last_outcome_failed, step_of.error = False, None
            else:
                details = event.get(_FAILED_ATTEMPTS[kind], {})
                step_of.last_outcome_failed = True
                step_of.error = ": ".join(p for p in (details.get("error"), details.get("cause")) if p) or kind
                step_of.ended_at = _utc(event["timestamp"])

    records: list[StepRecord] = []
    for step in steps:
        if step.last_outcome_failed:
            status = StepStatus.FAILED
        elif step.exited:
            status = StepStatus.SUCCEEDED
        else:  # never left the state: still running, or the execution was stopped inside it
            status = StepStatus.RUNNING if execution_running else StepStatus.FAILED
        records.append(
            StepRecord(
                name=step.name,
                status=status,
                started_at=step.started_at,
                ended_at=step.ended_at,
                attempts=max(1, step.attempts),
                error=step.error if status is StepStatus.FAILED else None,
            )
        )
    return records


class StepFunctionsWorkflow:
    """Starts the analysis state machine for a video and reads its history back.

    Execution names are the video ids, so a duplicated S3 notification cannot start a second
    analysis: Step Functions refuses the name (``ExecutionAlreadyExists``), which is reported as
    ``already_started``. The input carries a fresh request id so that refusal also happens while
    the first execution is still running (StartExecution with an identical name *and* input
    would otherwise succeed silently and hide the duplicate).
    """

    def __init__(
        self, client: SFNClient, state_machine_arn: str, *, new_request_id: Callable[[], str] | None = None
    ) -> None:
        if ":stateMachine:" not in state_machine_arn:
            raise ConfigurationError(
                f"'{state_machine_arn}' is not a state machine ARN (MILKMOBS_AWS__STATE_MACHINE_ARN)"
            )
        self._client = client
        self._arn = state_machine_arn
        self._request_id = new_request_id or (lambda: uuid.uuid4().hex)

    def execution_arn(self, video_id: str) -> str:
        """The ARN the execution of ``video_id`` has (deterministic: named by the video)."""
        return f"{self._arn.replace(':stateMachine:', ':execution:', 1)}:{video_id}"

    def start(self, video_id: str) -> StartResult:
        """Start the execution named ``video_id``; ``already_started`` if it exists."""
        doing = f"starting the analysis of video {video_id}"
        try:
            response = self._client.start_execution(
                stateMachineArn=self._arn,
                name=video_id,
                input=json.dumps({"videoId": video_id, "requestId": self._request_id()}),
            )
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                return StartResult(execution_id=self.execution_arn(video_id), already_started=True)
            raise _translate(exc, doing=doing, video_id=video_id) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=doing, video_id=video_id) from exc
        return StartResult(execution_id=response["executionArn"], already_started=False)

    def history(self, video_id: str) -> list[ExecutionRecord]:
        """The video's execution (at most one: the name is the video id) with its task steps."""
        arn = self.execution_arn(video_id)
        doing = f"reading the execution history of video {video_id}"
        try:
            described = self._client.describe_execution(executionArn=arn)
            events: list[dict[str, Any]] = []
            paginator = self._client.get_paginator("get_execution_history")
            for page in paginator.paginate(executionArn=arn, includeExecutionData=False):
                events.extend(dict(event) for event in page.get("events", []))
        except ClientError as exc:
            if error_code(exc) in {"ExecutionDoesNotExist", "InvalidArn"}:
                return []
            raise _translate(exc, doing=doing, video_id=video_id) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=doing, video_id=video_id) from exc
        status = _STATUS.get(described["status"], ExecutionStatus.RUNNING)
        error = ": ".join(str(p) for p in (described.get("error"), described.get("cause")) if p) or None
        return [
            ExecutionRecord(
                execution_id=described["executionArn"],
                video_id=video_id,
                status=status,
                started_at=_utc(described["startDate"]),
                stopped_at=_utc(described["stopDate"]) if described.get("stopDate") else None,
                steps=steps_from_history(events, execution_running=status is ExecutionStatus.RUNNING),
                error=error if status is not ExecutionStatus.SUCCEEDED else None,
            )
        ]
