"""The Workflow port of ``milkmobs serve``'s HTTP worker processes: analyses go to the pipeline process.

A worker that accepts an upload queues the video (a ``pipeline_jobs`` row, then the RUNNING execution
record) and wakes the pipeline process, which runs the workflow. Everything lives in SQLite first, so
a queued analysis survives the death of any process: the pipeline process reads the queue again when
it (re)starts. The steps are idempotent, so running a queued analysis from the top is always safe.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from milkmobs.adapters.local.sqlite_db import to_micros
from milkmobs.adapters.local.sqlite_jobs import SQLiteJobQueue
from milkmobs.domain import ExecutionRecord, ExecutionStatus, NotFoundError, StartResult
from milkmobs.ports import Clock, ExecutionLog


class HandOffWorkflow:
    """``start`` queues the analysis for the pipeline process; ``history`` reads the shared log."""

    def __init__(self, executions: ExecutionLog, jobs: SQLiteJobQueue, clock: Clock, wake: Callable[[], None]) -> None:
        self._log = executions
        self._jobs = jobs
        self._clock = clock
        self._wake = wake

    def start(self, video_id: str) -> StartResult:
        try:
            record = self._log.get(video_id)
        except NotFoundError:
            record = None
        if record is not None and record.status is not ExecutionStatus.RUNNING:
            return StartResult(execution_id=video_id, already_started=True)  # it ran already
        now = self._clock.now()
        # The job first: a process killed between the two writes leaves a job whose record the
        # pipeline process creates, never a RUNNING record nobody picks up.
        self._jobs.enqueue(video_id, queued_us=to_micros(now))
        if record is None:
            self._log.put(
                ExecutionRecord(
                    execution_id=video_id, video_id=video_id, status=ExecutionStatus.RUNNING, started_at=now
                )
            )
        self._wake()
        return StartResult(execution_id=video_id, already_started=record is not None)

    def history(self, video_id: str) -> list[ExecutionRecord]:
        return self._log.list_for_video(video_id)


def pipe_waker(fd: int) -> Callable[[], None]:
    """A ``wake`` that writes one byte to the pipeline process's wake-up pipe (never blocks: a full
    pipe already means "there is work")."""

    def wake() -> None:
        with contextlib.suppress(BlockingIOError, BrokenPipeError, InterruptedError):
            os.write(fd, b"\0")

    return wake
