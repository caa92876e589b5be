"""The driven ports the core works with, bundled so services take one argument.

A port may be a stand-in its backend builds on first use (the AWS adapters): the core calls it
like any adapter, and a use case that never calls it never builds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from milkmobs.ports import (
    Analyzer,
    ClaimStore,
    Clock,
    EventBus,
    IdGenerator,
    MediaProcessor,
    MediaStore,
    Metrics,
    MobStore,
    VectorIndex,
    VideoStore,
)


@dataclass(frozen=True)
class CorePorts:
    videos: VideoStore
    mobs: MobStore
    media: MediaStore
    analyzer: Analyzer
    index: VectorIndex
    events: EventBus
    metrics: Metrics
    clock: Clock
    ids: IdGenerator
    claims: ClaimStore  # idempotency keys and content hashes per user
    media_processor: MediaProcessor | None = None  # None: no probing/thumbnails (the fake path)
