"""The in-memory adapters, plugged into every port contract suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from milkmobs.adapters.memory import (
    FakeAnalyzer,
    InMemoryEventBus,
    InMemoryExecutionLog,
    InMemoryMediaStore,
    InMemoryMetrics,
    InMemoryMobStore,
    InMemoryVectorIndex,
    InMemoryVideoStore,
    SystemClock,
)
from milkmobs.adapters.memory.claims import InMemoryClaimStore
from milkmobs.domain import Video, VideoAnalyzed
from milkmobs.ports import Analyzer, EventBus, MediaStore, UploadTicket, Workflow

BASE_URL = "http://127.0.0.1:8000"
WorkflowHarness = tuple[Workflow, Callable[[], str], Callable[[str], None]]


@contextmanager
def video_store() -> Iterator[InMemoryVideoStore]:
    yield InMemoryVideoStore()


@contextmanager
def mob_store() -> Iterator[InMemoryMobStore]:
    yield InMemoryMobStore()


@contextmanager
def media_store() -> Iterator[tuple[MediaStore, Callable[[UploadTicket, bytes], None]]]:
    store = InMemoryMediaStore(base_url=BASE_URL, clock=SystemClock())

    def upload(ticket: UploadTicket, data: bytes) -> None:
        # What the local server does with the client's form POST.
        store.accept_upload(ticket.fields, data)

    yield store, upload


@contextmanager
def vector_index(dimension: int) -> Iterator[InMemoryVectorIndex]:
    yield InMemoryVectorIndex(dimension, initial_capacity=4)  # small, so growth is exercised


@contextmanager
def event_bus() -> Iterator[tuple[EventBus, Callable[[], list[VideoAnalyzed]]]]:
    bus = InMemoryEventBus()
    yield bus, lambda: list(bus.published)


@contextmanager
def metrics() -> Iterator[InMemoryMetrics]:
    yield InMemoryMetrics(clock=SystemClock())


@contextmanager
def execution_log() -> Iterator[InMemoryExecutionLog]:
    yield InMemoryExecutionLog()


@contextmanager
def fake_analyzer() -> Iterator[tuple[Analyzer, Callable[[Video, bytes], None]]]:
    store = InMemoryMediaStore(base_url=BASE_URL, clock=SystemClock())
    analyzer = FakeAnalyzer(store, dimension=64)

    def put_video(video: Video, data: bytes) -> None:
        store.put(video.media_key, data)

    yield analyzer, put_video


@contextmanager
def claim_store() -> Iterator[tuple[InMemoryClaimStore, InMemoryVideoStore]]:
    yield InMemoryClaimStore(), InMemoryVideoStore()


VIDEO_STORES = {"InMemoryVideoStore": video_store}
CLAIM_STORES = {"InMemoryClaimStore": claim_store}
MOB_STORES = {"InMemoryMobStore": mob_store}
MEDIA_STORES = {"InMemoryMediaStore": media_store}
VECTOR_INDEXES = {"InMemoryVectorIndex": vector_index}
EVENT_BUSES = {"InMemoryEventBus": event_bus}
METRICS = {"InMemoryMetrics": metrics}
EXECUTION_LOGS = {"InMemoryExecutionLog": execution_log}
ANALYZERS = {"FakeAnalyzer": fake_analyzer}
