"""A lock handed to its waiters in arrival order.

The route table answers one request at a time per process, so requests queue for it. ``threading.Lock``
lets whichever thread runs first take it again, so under load a few requests waited many turns (the
99th percentile was ten times the median); handing it over first come, first served bounds the wait by
the queue ahead.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType


class FifoLock:
    """Mutual exclusion, granted in the order ``acquire`` was called (a context manager)."""

    def __init__(self) -> None:
        self._state = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self) -> None:
        with self._state:
            if not self._held:
                self._held = True
                return
            gate = threading.Lock()
            gate.acquire()
            self._waiters.append(gate)
        gate.acquire()  # released by the holder, which hands the lock over (it stays held)

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (then nobody waits for it either); never waits."""
        with self._state:
            if self._held:
                return False
            self._held = True
            return True

    def release(self) -> None:
        with self._state:
            if not self._held:
                raise RuntimeError("release of an unheld FifoLock")
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False

    def __enter__(self) -> FifoLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()
