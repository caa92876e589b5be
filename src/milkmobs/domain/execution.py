"""Records of workflow executions and their steps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from milkmobs.domain.base import DomainModel


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"


class StepStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class StepRecord(DomainModel):
    name: str
    status: StepStatus
    started_at: datetime
    ended_at: datetime | None = None
    attempts: int = 1
    error: str | None = None

    def ended(self, status: StepStatus, *, at: datetime, attempts: int, error: str | None = None) -> StepRecord:
        """How the step ended, after how many attempts, with which error."""
        return self.model_copy(update={"status": status, "ended_at": at, "attempts": attempts, "error": error})

    def interrupted(self, *, at: datetime) -> StepRecord:
        """A step that was running when its process died: failed, to be resumed."""
        return self.model_copy(update={"status": StepStatus.FAILED, "ended_at": at, "error": "interrupted: resumed"})


class ExecutionRecord(DomainModel):
    execution_id: str
    video_id: str
    status: ExecutionStatus
    started_at: datetime
    stopped_at: datetime | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    error: str | None = None

    def with_steps(self, steps: list[StepRecord]) -> ExecutionRecord:
        return self.model_copy(update={"steps": steps})

    def stopped(self, status: ExecutionStatus, *, at: datetime, error: str | None = None) -> ExecutionRecord:
        """Ended in ``status`` (SUCCEEDED, FAILED, TIMED_OUT or ABORTED)."""
        return self.model_copy(update={"status": status, "stopped_at": at, "error": error})


class StartResult(DomainModel):
    """``already_started`` is True when an execution for this video existed."""

    execution_id: str
    already_started: bool = False
