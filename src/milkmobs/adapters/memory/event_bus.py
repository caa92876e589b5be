"""An event bus that keeps what was published, for tests and notebooks."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from milkmobs.domain import DomainEvent
from milkmobs.domain.errors import BackendUnavailableError
from milkmobs.ports.events import dedupe_key


class InMemoryEventBus:
    """Appends published events to ``published`` (a copy of the list is returned on read); an event
    already published (same ``dedupe_key``) is not appended again."""

    def __init__(self) -> None:
        self._published: list[DomainEvent] = []
        self._keys: set[str] = set()
        self._failures_left = 0
        self._lock = threading.Lock()

    @property
    def published(self) -> list[DomainEvent]:
        """Every event published so far, in order."""
        with self._lock:
            return list(self._published)

    def fail_next(self, times: int = 1) -> None:
        """Make the next ``times`` publish calls raise BackendUnavailableError (to test error paths)."""
        with self._lock:
            self._failures_left = times

    def publish(self, events: Sequence[DomainEvent]) -> None:
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                ids = ", ".join(e.video_id for e in events)
                raise BackendUnavailableError(f"event bus unavailable: could not publish events for {ids}")
            for event in events:
                key = dedupe_key(event)
                if key not in self._keys:
                    self._keys.add(key)
                    self._published.append(event.model_copy(deep=True))

    def clear(self) -> None:
        with self._lock:
            self._published.clear()
            self._keys.clear()
