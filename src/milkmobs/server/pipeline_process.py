"""The pipeline process of ``milkmobs serve`` (local backend): the one process that runs analyses.

It builds the application with the in-process orchestrator in background mode (which first recovers
what a previous process left unfinished: ``core.recovery``; the supervisor starts the HTTP workers
only after that, so recovery runs while nothing else writes), then runs the queued analyses (``pipeline_jobs``) as the
HTTP workers wake it through a pipe — or, at the latest, every ``poll_seconds``. A job's row is
removed once its execution has ended. On SIGTERM/SIGINT it stops taking jobs, lets the running
executions finish and leaves the queued ones in the queue for the next start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from milkmobs.adapters.inprocess import InProcessOrchestrator
from milkmobs.adapters.local.factory import DATABASE_FILE
from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.adapters.local.sqlite_executions import SQLiteExecutionLog
from milkmobs.adapters.local.sqlite_jobs import SQLiteJobQueue
from milkmobs.domain import BackendUnavailableError, ExecutionStatus, MilkmobsError, NotFoundError
from milkmobs.settings import Settings

logger = logging.getLogger("milkmobs.server")


def run_jobs(jobs: SQLiteJobQueue, executions: SQLiteExecutionLog, orchestrator: InProcessOrchestrator) -> int:
    """Dispatch every queued analysis not yet running here; drop the jobs whose execution ended.
    Returns how many were dispatched."""
    dispatched = 0
    for video_id in jobs.pending():
        if orchestrator.resume(video_id):  # a RUNNING record nobody runs (or none yet): run it
            dispatched += 1
            continue
        try:
            ended = executions.get(video_id).status is not ExecutionStatus.RUNNING
        except NotFoundError:
            ended = True
        if ended:
            jobs.done(video_id)
    return dispatched


def run_pipeline_process(
    settings: Settings, wake_fd: int, *, ready: Callable[[], object] = lambda: None, poll_seconds: float = 1.0
) -> int:
    """The process's main: ``ready`` once its start-up recovery is done; returns its exit code once
    asked to stop."""
    from milkmobs.bootstrap import build

    stopping = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    app = build(settings, background=True)  # recovers what a previous process left half-done
    ready()
    db = SQLiteDatabase(Path(settings.local.data_dir).expanduser() / DATABASE_FILE)
    try:
        orchestrator = app.workflow
        if not isinstance(orchestrator, InProcessOrchestrator):
            raise TypeError("the pipeline process needs the in-process orchestrator")
        jobs, executions = SQLiteJobQueue(db), SQLiteExecutionLog(db)
        while not stopping.is_set():
            try:
                run_jobs(jobs, executions, orchestrator)
            except BackendUnavailableError as exc:  # a busy database: the next round retries
                logger.warning("pipeline process: queued analyses not read this time: %s", exc.message)
            with contextlib.suppress(InterruptedError):
                readable, _, _ = select.select([wake_fd], [], [], poll_seconds)
                if readable:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_fd, 4096)
        # Running executions finish their steps; queued ones stay RUNNING with their job row and
        # resume at the next start.
        orchestrator.shutdown(cancel_pending=True)
        return 0
    except MilkmobsError as exc:
        logger.error("pipeline process stopped: %s", exc.message)
        return 1
    finally:
        db.close()
        app.close()
