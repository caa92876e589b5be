"""Clocks and id generators: the real ones and deterministic ones for tests."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The wall clock, timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (``set``/``advance``), or by ``step`` on every read.

    ``step`` lets tests get strictly increasing timestamps without sleeping.
    """

    def __init__(self, start: datetime | None = None, *, step: timedelta = timedelta(0)) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start time")
        self._now = start
        self._step = step
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            current = self._now
            self._now = current + self._step
            return current

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("FixedClock.set needs a timezone-aware time")
        with self._lock:
            self._now = when

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (a timedelta or seconds); returns the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now


class UuidIdGenerator:
    """Random uuid4 hex ids (32 characters, no dashes)."""

    def new_id(self) -> str:
        return uuid.uuid4().hex


class SequentialIdGenerator:
    """Deterministic ids ``000…001``, ``000…002``, … (32 hex characters, uuid4-sized)."""

    def __init__(self, start: int = 1) -> None:
        self._next = start
        self._lock = threading.Lock()

    def new_id(self) -> str:
        with self._lock:
            value = self._next
            self._next += 1
        return f"{value:032x}"
