"""Helpers of the in-process workflow engine: step timeouts and the execution record it keeps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from milkmobs.core.workflow_model import StepTimeout
from milkmobs.domain import ExecutionRecord, ExecutionStatus, StepRecord, StepStatus
from milkmobs.ports import ExecutionLog

__all__ = ["ExecutionTracker", "call_with_timeout", "error_name"]


def error_name(exc: BaseException) -> str:
    """The name an execution records for ``exc``: its class name (``StepTimeout`` for a timeout)."""
    return type(exc).__name__


class ExecutionTracker:
    """One execution's record, updated under a lock (the parallel branches write concurrently)."""

    def __init__(self, record: ExecutionRecord, executions: ExecutionLog, clock: Callable[[], datetime]) -> None:
        self.record = record
        self._log = executions
        self._now = clock
        self._lock = threading.Lock()

    def begin(self, name: str) -> int:
        """Record that step ``name`` started; returns its index for ``end``."""
        with self._lock:
            steps = [*self.record.steps, StepRecord(name=name, status=StepStatus.RUNNING, started_at=self._now())]
            self.record = self.record.with_steps(steps)
            self._log.put(self.record)
            return len(steps) - 1

    def end(self, index: int, status: StepStatus, attempts: int, error: str | None = None) -> None:
        """Record how step ``index`` ended, after how many attempts, with which error."""
        with self._lock:
            steps = list(self.record.steps)
            steps[index] = steps[index].ended(status, at=self._now(), attempts=attempts, error=error)
            self.record = self.record.with_steps(steps)
            self._log.put(self.record)

    def close_interrupted_steps(self) -> None:
        """Steps a previous process left RUNNING (this record is being resumed) end FAILED."""
        with self._lock:
            if not any(s.status is StepStatus.RUNNING for s in self.record.steps):
                return
            now = self._now()
            steps = [s.interrupted(at=now) if s.status is StepStatus.RUNNING else s for s in self.record.steps]
            self.record = self.record.with_steps(steps)
            self._log.put(self.record)

    def finish(self, status: ExecutionStatus, error: str | None = None) -> None:
        """Close the execution with its final status (and error)."""
        with self._lock:
            self.record = self.record.stopped(status, at=self._now(), error=error)
            self._log.put(self.record)


def call_with_timeout(function: Callable[[], Any], timeout: float, name: str) -> Any:
    """``function()`` on a helper thread; StepTimeout if it has not returned after ``timeout`` seconds
    (the thread is abandoned, not killed: Python cannot stop it)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["output"] = function()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"milkmobs-step-{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise StepTimeout(f"step {name} did not finish within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["output"]
