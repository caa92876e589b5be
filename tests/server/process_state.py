"""What a server test must leave as it found it: the process's descriptors and threads.

A descriptor closed twice is the bug this catches: the second close lands on whatever reused the
number meanwhile (another test's socket or pipe in the same pytest worker), which then fails far
from its cause, as ``EBADF`` in an unrelated test. A thread left running can do that later still.
"""

from __future__ import annotations

import gc
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: How long a test's threads get to end once its fixtures are torn down.
THREADS_END_WITHIN_SECONDS = 10.0


def open_descriptors() -> dict[int, tuple[int, int, int]]:
    """This process's open descriptors: number -> (device, inode, type), which tells a descriptor
    from another one that reused its number."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            info = os.fstat(int(name))
        except OSError:  # the listing's own descriptor, closed by now
            continue
        found[int(name)] = (info.st_dev, info.st_ino, stat.S_IFMT(info.st_mode))
    return found


def _target(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "closed"


@contextmanager
def left_as_found(threads_end_within: float = THREADS_END_WITHIN_SECONDS) -> Iterator[None]:
    """Fails (AssertionError) if, inside, a descriptor that was open before was closed or replaced,
    a descriptor opened inside is still open, or a thread started inside is still running."""
    gc.collect()  # what earlier code dropped closes its descriptors now, not inside
    threads_before = set(threading.enumerate())
    before = open_descriptors()
    was = {fd: _target(fd) for fd in before}
    yield
    deadline = time.monotonic() + threads_end_within
    for thread in set(threading.enumerate()) - threads_before:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = sorted(thread.name for thread in set(threading.enumerate()) - threads_before)
    gc.collect()
    after = open_descriptors()
    problems = []
    if touched := [f"{fd} ({was[fd]}, now {_target(fd)})" for fd, ident in before.items() if after.get(fd) != ident]:
        problems.append(f"closed or replaced descriptors it did not open: {', '.join(touched)}")
    if left_open := [f"{fd} ({_target(fd)})" for fd, identity in after.items() if before.get(fd) != identity]:
        problems.append(f"left descriptors open: {', '.join(left_open)}")
    if running:
        problems.append(f"left threads running: {', '.join(running)}")
    assert not problems, "; ".join(problems)
