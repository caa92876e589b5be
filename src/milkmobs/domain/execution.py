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


class ExecutionRecord(DomainModel):
    execution_id: str
    video_id: str
    status: ExecutionStatus
    started_at: datetime
    stopped_at: datetime | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    error: str | None = None


class StartResult(DomainModel):
    """``already_started`` is True when an execution for this video existed."""

    execution_id: str
    already_started: bool = False
