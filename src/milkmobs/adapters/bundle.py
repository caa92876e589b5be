"""What one adapter family hands the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from milkmobs.ports import (
    Analyzer,
    ClaimStore,
    EventBus,
    ExecutionLog,
    MediaProcessor,
    MediaStore,
    Metrics,
    MobStore,
    VectorIndex,
    VideoStore,
    Workflow,
)


@dataclass
class AdapterSet:
    """Adapters of one backend. ``workflow=None`` means: run the in-process orchestrator."""

    videos: VideoStore
    mobs: MobStore
    media: MediaStore
    analyzer: Analyzer
    index: VectorIndex
    events: EventBus
    metrics: Metrics
    claims: ClaimStore
    workflow: Workflow | None = None
    executions: ExecutionLog | None = None  # history store for the in-process orchestrator
    media_processor: MediaProcessor | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
