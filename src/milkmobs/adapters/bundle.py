"""What one adapter family hands the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias, TypedDict, TypeVar

from milkmobs.ports import (
    Analyzer,
    ClaimStore,
    Clock,
    EventBus,
    ExecutionLog,
    IdGenerator,
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


_Port = TypeVar("_Port")
#: An adapter, or a function building it from the adapters built so far.
Override: TypeAlias = _Port | Callable[[AdapterSet], _Port]


class AdapterOverrides(TypedDict, total=False):
    """What ``milkmobs.bootstrap.build`` may replace, as keyword arguments: one per ``AdapterSet``
    field, plus the clock and the id generator. ``workflow``, ``executions`` and ``media_processor``
    may be None: no workflow of the backend's (the in-process engine runs), no execution log of its
    own, no media processor."""

    videos: Override[VideoStore]
    mobs: Override[MobStore]
    media: Override[MediaStore]
    analyzer: Override[Analyzer]
    index: Override[VectorIndex]
    events: Override[EventBus]
    metrics: Override[Metrics]
    claims: Override[ClaimStore]
    workflow: Override[Workflow | None]
    executions: Override[ExecutionLog | None]
    media_processor: Override[MediaProcessor | None]
    clock: Clock
    ids: IdGenerator
