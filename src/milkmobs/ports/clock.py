"""Time and identity, injectable so tests are deterministic."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A fresh unique hex id (uuid4 form, no dashes)."""
        ...
