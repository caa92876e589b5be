"""The memory backend: every port in process memory, analysed by the FAKE analyzer."""

from __future__ import annotations

from milkmobs.adapters.bundle import AdapterSet
from milkmobs.adapters.memory.analyzer import FakeAnalyzer
from milkmobs.adapters.memory.claims import InMemoryClaimStore
from milkmobs.adapters.memory.event_bus import InMemoryEventBus
from milkmobs.adapters.memory.execution_log import InMemoryExecutionLog
from milkmobs.adapters.memory.media_processor import FakeMediaProcessor
from milkmobs.adapters.memory.media_store import InMemoryMediaStore
from milkmobs.adapters.memory.metrics import InMemoryMetrics
from milkmobs.adapters.memory.mob_store import InMemoryMobStore
from milkmobs.adapters.memory.vector_index import InMemoryVectorIndex
from milkmobs.adapters.memory.video_store import InMemoryVideoStore
from milkmobs.ports import Clock, IdGenerator
from milkmobs.settings import Settings

DEFAULT_DIMENSION = 512


def build_adapters(settings: Settings, *, clock: Clock, ids: IdGenerator) -> AdapterSet:
    """Fresh in-memory adapters; ``workflow=None`` so the in-process orchestrator runs the pipeline.

    ``ids`` is unused here (the memory adapters mint no ids) but is part of every family's signature.
    """
    dimension = settings.models.embedding_dimension or DEFAULT_DIMENSION
    media = InMemoryMediaStore(base_url=settings.http.public_base_url, clock=clock)
    analyzer = FakeAnalyzer(
        media,
        dimension=dimension,
        seed=settings.random_seed,
    )
    return AdapterSet(
        videos=InMemoryVideoStore(),
        mobs=InMemoryMobStore(),
        media=media,
        analyzer=analyzer,
        index=InMemoryVectorIndex(dimension),
        events=InMemoryEventBus(),
        metrics=InMemoryMetrics(clock=clock),
        claims=InMemoryClaimStore(),
        workflow=None,
        executions=InMemoryExecutionLog(),
        media_processor=FakeMediaProcessor(media),
    )
