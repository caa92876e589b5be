"""The local (embedded) adapters — SQLite stores, media folder, persisted vector index — in every suite.

Each factory makes a fresh temporary data directory and removes it afterwards.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from milkmobs.adapters.local.media_folder import LocalMediaStore
from milkmobs.adapters.local.sqlite_claims import SQLiteClaimStore
from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.adapters.local.sqlite_events import SQLiteEventLog
from milkmobs.adapters.local.sqlite_executions import SQLiteExecutionLog
from milkmobs.adapters.local.sqlite_metrics import SQLiteMetrics
from milkmobs.adapters.local.sqlite_mobs import SQLiteMobStore
from milkmobs.adapters.local.sqlite_videos import SQLiteVideoStore
from milkmobs.adapters.local.vector_index import PersistedVectorIndex
from milkmobs.adapters.memory import SystemClock
from milkmobs.domain import VideoAnalyzed
from milkmobs.ports import EventBus, MediaStore, UploadTicket

BASE_URL = "http://127.0.0.1:8000"


@contextmanager
def _database() -> Iterator[SQLiteDatabase]:
    with tempfile.TemporaryDirectory(prefix="milkmobs-contract-") as tmp:
        db = SQLiteDatabase(Path(tmp) / "milkmobs.sqlite3")
        try:
            yield db
        finally:
            db.close()


@contextmanager
def video_store() -> Iterator[SQLiteVideoStore]:
    with _database() as db:
        yield SQLiteVideoStore(db, cursor_secret=b"contract-test-secret")


@contextmanager
def claim_store() -> Iterator[tuple[SQLiteClaimStore, SQLiteVideoStore]]:
    with _database() as db:
        yield SQLiteClaimStore(db), SQLiteVideoStore(db, cursor_secret=b"contract-test-secret")


@contextmanager
def mob_store() -> Iterator[SQLiteMobStore]:
    with _database() as db:
        yield SQLiteMobStore(db)


@contextmanager
def execution_log() -> Iterator[SQLiteExecutionLog]:
    with _database() as db:
        yield SQLiteExecutionLog(db)


@contextmanager
def metrics() -> Iterator[SQLiteMetrics]:
    with _database() as db:
        yield SQLiteMetrics(db, clock=SystemClock())


@contextmanager
def event_bus() -> Iterator[tuple[EventBus, Callable[[], list[VideoAnalyzed]]]]:
    with _database() as db:
        bus = SQLiteEventLog(db, clock=SystemClock())
        yield bus, bus.published


@contextmanager
def media_store() -> Iterator[tuple[MediaStore, Callable[[UploadTicket, bytes], None]]]:
    with tempfile.TemporaryDirectory(prefix="milkmobs-contract-") as tmp:
        store = LocalMediaStore(Path(tmp) / "media", secret=b"c" * 64, public_base_url=BASE_URL, clock=SystemClock())

        def upload(ticket: UploadTicket, data: bytes) -> None:
            store.accept_upload(ticket.fields, data)  # what `milkmobs serve` does with the form POST

        yield store, upload


@contextmanager
def vector_index(dimension: int) -> Iterator[PersistedVectorIndex]:
    with tempfile.TemporaryDirectory(prefix="milkmobs-contract-") as tmp:
        # tiny capacity and compaction threshold, so growth and compaction run inside the suite
        index = PersistedVectorIndex(Path(tmp) / "index", dimension, initial_capacity=2, compact_min_tombstones=2)
        try:
            yield index
        finally:
            index.close()


VIDEO_STORES = {"SQLiteVideoStore": video_store}
CLAIM_STORES = {"SQLiteClaimStore": claim_store}
MOB_STORES = {"SQLiteMobStore": mob_store}
EXECUTION_LOGS = {"SQLiteExecutionLog": execution_log}
METRICS = {"SQLiteMetrics": metrics}
EVENT_BUSES = {"SQLiteEventLog": event_bus}
MEDIA_STORES = {"LocalMediaStore": media_store}
VECTOR_INDEXES = {"PersistedVectorIndex": vector_index}
