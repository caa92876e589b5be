"""``InProcessOrchestrator``: the ``Workflow`` port for the memory and local backends.

It starts executions named by the video id (idempotently), keeps them in an ``ExecutionLog`` and
has ``WorkflowInterpreter`` (``interpreter.py``) run ``core.workflow.ANALYSIS_WORKFLOW`` with Step
Functions' semantics — the parallel branches on threads, per-step retry policies with backoff and
jitter, step timeouts, the catch that marks the video failed. The steps are the functions of
``core.steps.STEP_HANDLERS``, the same ones the AWS Lambdas run.

Two modes: synchronous (``start`` returns when the execution has finished: tests, notebooks) and
background (a bounded thread pool: ``milkmobs serve``), with ``wait_idle``, ``shutdown`` and
``resume`` for executions a previous process left unfinished.

Differences from Step Functions, on purpose: the catch receives the precise failing step (inside a
parallel branch too), and a step that times out is abandoned, not killed (Python threads cannot
be), so its late writes are refused by the status guards once the video is ``failed``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from milkmobs.adapters.inprocess.interpreter import WorkflowInterpreter
from milkmobs.core.recovery import recover
from milkmobs.core.steps import STEP_HANDLERS, StepContext, StepHandler
from milkmobs.core.workflow import ANALYSIS_WORKFLOW, WorkflowDefinition
from milkmobs.domain import (
    BackendUnavailableError,
    ExecutionRecord,
    ExecutionStatus,
    Failure,
    NotFoundError,
    StartResult,
    VideoStatus,
)
from milkmobs.ports import ExecutionLog


class InProcessOrchestrator:
    """Runs the analysis workflow in this process (see the module docstring).

    The scales, ``seed`` and ``sleep`` are those of ``WorkflowInterpreter`` (0 scales in tests: no
    sleeping between retries, no waiting).
    """

    def __init__(
        self,
        context: StepContext,
        executions: ExecutionLog,
        *,
        definition: WorkflowDefinition = ANALYSIS_WORKFLOW,
        handlers: Mapping[str, StepHandler] = STEP_HANDLERS,
        background: bool = False,
        workers: int = 2,
        retry_interval_scale: float = 1.0,
        wait_scale: float = 1.0,
        timeout_scale: float = 1.0,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interpreter = WorkflowInterpreter(
            context,
            definition,
            handlers,
            retry_interval_scale=retry_interval_scale,
            wait_scale=wait_scale,
            timeout_scale=timeout_scale,
            seed=seed,
            sleep=sleep,
        )
        self._context = context
        self._log = executions
        self._start_lock = threading.Lock()
        self._pool = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="milkmobs-workflow") if background else None
        )
        self._pending = 0
        self._idle = threading.Condition()
        self._closed = False
        self._active: set[str] = set()  # executions running (or queued) in this process

    # --- the Workflow port -------------------------------------------------------------
    def start(self, video_id: str) -> StartResult:
        """Start the execution named ``video_id``; a second start reports ``already_started``."""
        with self._start_lock:
            self._refuse_when_closed()
            try:
                self._log.get(video_id)
                return StartResult(execution_id=video_id, already_started=True)
            except NotFoundError:
                pass
            record = self._new_record(video_id)
        self._dispatch(record)
        return StartResult(execution_id=video_id)

    def resume(self, video_id: str, *, inline: bool = False) -> bool:
        """Run again an execution that a previous process left RUNNING (a crash or a cancelled
        queue), or start one that never began. The steps are idempotent, so it restarts from the top,
        appending its steps to the same record; for a video that already failed only the catch runs
        again (its clean-up). ``inline``: run it to its end in this thread, whatever the mode. False
        when there is nothing to resume, or when this process is running it right now."""
        with self._start_lock:
            self._refuse_when_closed()
            try:
                record = self._log.get(video_id)
            except NotFoundError:
                record = self._new_record(video_id)
            else:
                if record.status is not ExecutionStatus.RUNNING or video_id in self._active:
                    return False
                self._active.add(video_id)
        if inline:
            self._run(record)
        else:
            self._dispatch(record)
        return True

    def running(self) -> list[ExecutionRecord]:
        """Executions the log holds as RUNNING, oldest first (at start-up: what a crash left)."""
        return self._log.list_running()

    def _refuse_when_closed(self) -> None:
        if self._closed:
            raise BackendUnavailableError("the workflow orchestrator is shut down; no new executions start")

    def _new_record(self, video_id: str) -> ExecutionRecord:
        """A RUNNING record, stored (under the start lock)."""
        record = ExecutionRecord(
            execution_id=video_id,
            video_id=video_id,
            status=ExecutionStatus.RUNNING,
            started_at=self._context.ports.clock.now(),
        )
        self._log.put(record)
        self._active.add(video_id)
        return record

    def _dispatch(self, record: ExecutionRecord) -> None:
        if self._pool is None:
            self._run(record)
            return
        with self._idle:
            self._pending += 1
        try:
            future = self._pool.submit(self._run, record)
        except RuntimeError as exc:  # shut down between the check and here: resumable later
            self._one_less(None)
            raise BackendUnavailableError(
                f"the workflow orchestrator shut down before video {record.video_id} could start; "
                "it resumes at the next start-up",
                video_id=record.video_id,
            ) from exc
        future.add_done_callback(self._one_less)  # also called for a future cancelled by shutdown

    def _one_less(self, _future: object) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def history(self, video_id: str) -> list[ExecutionRecord]:
        """The video's executions with their steps, newest first."""
        return self._log.list_for_video(video_id)

    # --- background mode ---------------------------------------------------------------
    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no execution is queued or running; False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def shutdown(self, *, cancel_pending: bool = False, wait: bool = True) -> None:
        """Refuse new executions and let the running ones finish — and, unless ``cancel_pending``,
        the queued ones too (cancelled ones stay RUNNING for ``resume`` after a restart). With
        ``wait=False`` it returns at once. Idempotent."""
        with self._start_lock:
            self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_pending)

    def _run(self, record: ExecutionRecord) -> None:
        try:
            failure = None
            if record.steps:  # resumed: a video the catch already failed only needs the catch again
                try:
                    video = self._context.ports.videos.get(record.video_id)
                except NotFoundError:
                    video = None  # deleted: the first step fails and the catch closes the execution
                if video is not None and video.status is VideoStatus.FAILED:
                    failure = video.failure or Failure(step="unknown step", error="failed", at=video.updated_at)
            self._interpreter.run(record, self._log, failure=failure)
        finally:
            with self._start_lock:
                self._active.discard(record.execution_id)


def resume_interrupted(context: StepContext, orchestrator: InProcessOrchestrator) -> list[str]:
    """Kept for callers of the first start-up hook: runs the whole ``core.recovery.recover`` and
    returns the video ids whose executions it resumed or started."""
    report = recover(context, orchestrator)
    return [*report.resumed, *report.queued]
