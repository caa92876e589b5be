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
