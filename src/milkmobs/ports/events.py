"""Publishing domain events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from milkmobs.domain import DomainEvent


class EventBus(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish all ``events`` or raise BackendUnavailableError naming what failed."""
        ...
