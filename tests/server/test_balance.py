"""The least-loaded HTTP worker takes the next connection; a worker that stopped refreshing its slot, or
whose slot the supervisor emptied, holds none back."""

from __future__ import annotations

import os

from milkmobs.server.balance import BURST_SLACK, STALE_SECONDS, AcceptBalance


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_only_the_least_loaded_live_workers_accept() -> None:
    clock = Clock()
    balance = AcceptBalance(3, clock=clock)
    try:
        assert balance.may_accept(0, 0)  # nobody else has said anything yet
        balance.publish(1, 2)
        balance.publish(2, 1)
        assert balance.may_accept(0, 1)  # a tie with worker 2: either may take it
        assert not balance.may_accept(1, 2)  # workers 0 and 2 have fewer
        assert not balance.may_accept(0, 2)
        clock.now += STALE_SECONDS + 1  # workers 1 and 2 stopped refreshing: hung
        assert balance.may_accept(0, 5)
        balance.publish(2, 1)
        assert not balance.may_accept(0, 5)
        balance.vacate(2)  # the supervisor saw it exit
        assert balance.may_accept(0, 5)
    finally:
        balance.close()


def test_the_slots_are_shared_with_forked_workers() -> None:
    balance = AcceptBalance(2)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child publishes and leaves at once
            try:
                balance.publish(1, 0)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert not balance.may_accept(0, 3)  # the child's slot, seen here
    finally:
        balance.close()


def test_a_burst_goes_on_within_the_slack() -> None:
    balance = AcceptBalance(2, clock=Clock())
    try:
        balance.publish(1, 4)
        assert balance.may_accept(0, 4)  # allowed: a tie
        assert balance.may_accept(0, 6, slack=2) and not balance.may_accept(0, 7, slack=2)
        assert not balance.may_accept(0, 5)  # a new turn starts only from the least loaded
    finally:
        balance.close()


def test_an_allowed_worker_takes_its_share_of_the_waiting_connections() -> None:
    """waitress accepts one connection per turn of its loop; a balanced listener takes its even share
    of what waits (Linux tells how many connections wait on a listening socket)."""
    import socket

    class Listener:  # a waitress listener as the balance sees it, over a real listening socket
        channel_class = object

        def __init__(self) -> None:
            self.socket = socket.socket()
            self.socket.bind(("127.0.0.1", 0))
            self.socket.listen(16)
            self.socket.setblocking(False)
            self.active_channels: dict[int, socket.socket] = {}

        def readable(self) -> bool:
            return True

        def handle_accept(self) -> None:
            try:
                conn, _ = self.socket.accept()
            except BlockingIOError:
                return
            self.active_channels[conn.fileno()] = conn

    balance = AcceptBalance(2, clock=Clock())
    listener = Listener()
    clients = [socket.create_connection(listener.socket.getsockname()) for _ in range(7)]
    try:
        balance.publish(1, 1)  # the other worker has one open already
        balance.install(listener, 0)
        assert listener.readable()
        listener.handle_accept()
        assert len(listener.active_channels) == 4  # (1 + 7) / 2
        assert not listener.readable()  # 4 > 1: the other worker's turn
    finally:
        for conn in [*clients, *listener.active_channels.values(), listener.socket]:
            conn.close()
        balance.close()


def test_without_the_queue_length_a_worker_accepts_what_waits_within_the_slack() -> None:

    class Listener:  # what the balance reads of a waitress listener
        channel_class = object

        def __init__(self, waiting: int) -> None:
            self.waiting = waiting
            self.active_channels: dict[int, object] = {}

        def readable(self) -> bool:
            return True

        def handle_accept(self) -> None:
            if self.waiting:
                self.waiting -= 1
                self.active_channels[len(self.active_channels)] = object()

    balance = AcceptBalance(2, clock=Clock())
    try:
        balance.publish(1, 3)
        busy = Listener(waiting=20)
        balance.install(busy, 0)
        assert busy.readable()
        busy.handle_accept()
        assert len(busy.active_channels) == 3 + BURST_SLACK + 1 and busy.waiting == 20 - 6
        assert not busy.readable()  # now the other worker's turn
        few = Listener(waiting=2)
        balance.install(few, 1)
        few.handle_accept()  # stops when nothing waits
        assert len(few.active_channels) == 2 and few.waiting == 0
    finally:
        balance.close()
