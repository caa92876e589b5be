"""The least-loaded HTTP worker takes the next connection; a worker that stopped refreshing its slot, or
whose slot the supervisor emptied, holds none back."""

from __future__ import annotations

import os

from milkmobs.server.balance import STALE_SECONDS, AcceptBalance


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
