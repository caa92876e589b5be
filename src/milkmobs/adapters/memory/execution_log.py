"""Execution records of the in-process orchestrator, kept in a dict."""

from __future__ import annotations

import threading

from milkmobs.domain import ExecutionRecord, ExecutionStatus, NotFoundError


class InMemoryExecutionLog:
    """Thread-safe ExecutionLog. Returns copies."""

    def __init__(self) -> None:
        self._records: dict[str, ExecutionRecord] = {}
        self._by_video: dict[str, set[str]] = {}  # so a video's history is not a scan of every record
        self._lock = threading.Lock()

    def put(self, record: ExecutionRecord) -> None:
        with self._lock:
            previous = self._records.get(record.execution_id)
            if previous is not None:
                self._by_video[previous.video_id].discard(record.execution_id)
            self._records[record.execution_id] = record.model_copy(deep=True)
            self._by_video.setdefault(record.video_id, set()).add(record.execution_id)

    def get(self, execution_id: str) -> ExecutionRecord:
        with self._lock:
            record = self._records.get(execution_id)
            if record is None:
                raise NotFoundError(f"execution {execution_id} not found")
            return record.model_copy(deep=True)

    def list_for_video(self, video_id: str) -> list[ExecutionRecord]:
        with self._lock:
            records = [self._records[e] for e in self._by_video.get(video_id, ())]
        records.sort(key=lambda r: (r.started_at, r.execution_id), reverse=True)
        return [r.model_copy(deep=True) for r in records]

    def list_running(self) -> list[ExecutionRecord]:
        with self._lock:
            records = [r for r in self._records.values() if r.status is ExecutionStatus.RUNNING]
        records.sort(key=lambda r: (r.started_at, r.execution_id))
        return [r.model_copy(deep=True) for r in records]
