"""The server's resolver lock hands itself over in arrival order and excludes like a lock."""

from __future__ import annotations

import threading
import time

import pytest

from milkmobs.server.fifo_lock import FifoLock


def test_waiters_get_the_lock_in_the_order_they_asked() -> None:
    lock = FifoLock()
    order: list[int] = []
    lock.acquire()
    threads = []
    for n in range(8):
        thread = threading.Thread(target=lambda n=n: (lock.acquire(), order.append(n), lock.release()))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 10
        while len(lock._waiters) < n + 1:  # this thread has queued: the next one asks after it
            assert time.monotonic() < deadline
            time.sleep(0.001)
    lock.release()
    for thread in threads:
        thread.join()
    assert order == list(range(8))


def test_it_excludes_and_refuses_a_release_it_does_not_hold() -> None:
    lock = FifoLock()
    inside = [0]
    peak = [0]

    def work() -> None:
        for _ in range(200):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 1
    with pytest.raises(RuntimeError):
        lock.release()


def test_try_acquire_takes_only_a_free_lock_and_never_waits() -> None:
    lock = FifoLock()
    assert lock.try_acquire()
    assert not lock.try_acquire()  # held (by anyone): refused at once
    lock.release()
    assert lock.try_acquire()
    lock.release()
