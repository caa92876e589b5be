"""Keep-alive connections spread evenly over the HTTP workers: the least-loaded worker accepts.

The workers share one listening socket. Left alone, whichever is awake first accepts; with
``SO_REUSEPORT`` the kernel hashes each connection to a worker, which split the benchmark's 32
keep-alive connections anywhere from 16/16 to 20/12 — and a worker answers one computed page at a time,
so the busier one's clients waited up to two thirds longer while the other had time to spare.

Here each worker publishes its open connections in a slot of a small shared memory map (made by the
supervisor before it forks them) and its listener is readable only while no live worker has fewer:
the least-loaded worker takes the next connection (ties: any of them). A slot counts as live while its
worker refreshes it, which it does on every turn of its loop (at least once a second); so a worker
that hangs stops holding new connections after ``STALE_SECONDS``, and the supervisor empties the slot
of a worker that died at once.
"""

from __future__ import annotations

import mmap
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

#: A slot not refreshed for this long is a worker that hangs: it is left out.
STALE_SECONDS = 3.0
#: Once allowed to accept, a worker goes on accepting the connections waiting: up to its even share of
#: them all (open ones and those waiting, which Linux tells of a listening socket), or, where that
#: cannot be read, while it has at most this many more than the least-loaded other. waitress accepts
#: one connection per turn of its loop, and a turn computes the pages asked on every connection, so 32
#: clients connecting at once waited up to 300 ms for the last accept (a hundredth of a benchmark
#: run: its 99th percentile).
BURST_SLACK = 2
_TCPI_UNACKED = 24  # offset of tcpi_unacked in struct tcp_info: a listening socket's accept queue
_SLOT = struct.Struct("=qd")  # open connections, time.monotonic() of the last refresh (0: no worker)


class AcceptBalance:
    """The shared slots of ``workers`` HTTP workers; inherited by the processes forked after it."""

    def __init__(self, workers: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.workers = workers
        self._clock = clock  # CLOCK_MONOTONIC: one clock for every process of the machine
        self._map = mmap.mmap(-1, _SLOT.size * workers)  # anonymous and shared: seen by every child

    def publish(self, slot: int, connections: int) -> None:
        """Worker ``slot`` has ``connections`` open (and is alive)."""
        _SLOT.pack_into(self._map, slot * _SLOT.size, connections, self._clock())

    def vacate(self, slot: int) -> None:
        """The worker of ``slot`` is gone (the supervisor saw it exit)."""
        _SLOT.pack_into(self._map, slot * _SLOT.size, 0, 0.0)

    def may_accept(self, slot: int, connections: int, *, slack: int = 0) -> bool:
        """Publish, and whether worker ``slot`` should take the next connection: no live worker has
        fewer open connections (than ``connections - slack``)."""
        self.publish(slot, connections)
        now = self._clock()
        for other in range(self.workers):
            if other == slot:
                continue
            count, seen = _SLOT.unpack_from(self._map, other * _SLOT.size)
            if seen > 0 and now - seen < STALE_SECONDS and count < connections - slack:
                return False
        return True

    def share(self, slot: int, connections: int, waiting: int) -> int:
        """Worker ``slot``'s even share of the live workers' open connections plus ``waiting`` ones."""
        now, total, live = self._clock(), connections + waiting, 1
        for other in range(self.workers):
            if other != slot:
                count, seen = _SLOT.unpack_from(self._map, other * _SLOT.size)
                if seen > 0 and now - seen < STALE_SECONDS:
                    total, live = total + count, live + 1
        return -(-total // live)

    def install(self, server: Any, slot: int) -> None:
        """Make the listeners of waitress ``server`` (``create_server``'s result) accept only when worker
        ``slot`` is among the least loaded, then every waiting connection within ``BURST_SLACK``, and
        publish the connections as they are accepted."""
        listeners = [server] if hasattr(server, "channel_class") else list(getattr(server, "map", {}).values())
        for listener in listeners:
            if not hasattr(listener, "active_channels"):  # the loop's trigger, not a listener
                continue
            readable, accept = listener.readable, listener.handle_accept

            def balanced_readable(listener: Any = listener, readable: Callable[[], bool] = readable) -> bool:
                # waitress' own check first (it also runs the idle-channel clean-up)
                return readable() and self.may_accept(slot, len(listener.active_channels))

            def accept_waiting(listener: Any = listener, accept: Callable[[], None] = accept) -> None:
                waiting = _waiting(listener)
                share = None if waiting is None else self.share(slot, len(listener.active_channels), waiting)
                while True:  # the connections waiting, up to this worker's share (or within the slack)
                    before = len(listener.active_channels)
                    accept()
                    after = len(listener.active_channels)
                    more = after < share if share is not None else self.may_accept(slot, after, slack=BURST_SLACK)
                    if after == before or not more:
                        self.publish(slot, after)
                        return

            listener.readable = balanced_readable
            listener.handle_accept = accept_waiting

    def close(self) -> None:
        self._map.close()


def _waiting(listener: Any) -> int | None:
    """Connections waiting in ``listener``'s accept queue (Linux's TCP_INFO), None where unknown."""
    try:
        info = listener.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except (AttributeError, OSError):
        return None
    return int(struct.unpack_from("=I", info, _TCPI_UNACKED)[0]) if len(info) >= _TCPI_UNACKED + 4 else None
