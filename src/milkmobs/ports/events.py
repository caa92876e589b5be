"""Publishing domain events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from milkmobs.domain import DomainEvent


def dedupe_key(event: DomainEvent) -> str:
    """What makes two events the same one: a video is analysed once, so it has one ``VideoAnalyzed``."""
    return f"{event.detail_type}:{event.video_id}"


class EventBus(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish all ``events`` or raise BackendUnavailableError naming what failed.

        Event logs (memory, local) keep one event per ``dedupe_key``: publishing it again, as a
        workflow resumed after a crash does, adds nothing. EventBridge delivers at least once;
        its consumers tell repeats apart by the video id."""
        ...
