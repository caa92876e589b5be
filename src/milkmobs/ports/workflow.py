"""Running the analysis workflow for a video."""

from __future__ import annotations

from typing import Protocol

from milkmobs.domain import ExecutionRecord, StartResult


class Workflow(Protocol):
    def start(self, video_id: str) -> StartResult:
        """Start the workflow for ``video_id``, named by it; a second start reports ``already_started``."""
        ...

    def history(self, video_id: str) -> list[ExecutionRecord]:
        """Executions for the video, newest first, each with its steps. Empty if none."""
        ...


class ResumableWorkflow(Workflow, Protocol):
    """A workflow this process runs itself (the in-process engine), so its start-up recovery can
    finish what a previous process left RUNNING."""

    def running(self) -> list[ExecutionRecord]:
        """Executions held as RUNNING, oldest first (at start-up: what a crash left)."""
        ...

    def resume(self, video_id: str, *, inline: bool = False) -> bool:
        """Run again an execution left RUNNING, or start one that never began; ``inline`` runs it to
        its end in this thread. False when there is nothing to resume or it is running here now."""
        ...


class ExecutionLog(Protocol):
    """Where the in-process workflow engine keeps execution and step records."""

    def put(self, record: ExecutionRecord) -> None:
        """Insert or replace the record with this ``execution_id``."""
        ...

    def get(self, execution_id: str) -> ExecutionRecord:
        """NotFoundError if unknown."""
        ...

    def list_for_video(self, video_id: str) -> list[ExecutionRecord]:
        """Newest first; empty if none."""
        ...

    def list_running(self) -> list[ExecutionRecord]:
        """Every execution still RUNNING, oldest first: what a crashed process left to resume."""
        ...
