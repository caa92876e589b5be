"""The check every server test runs under fails for each way of disturbing the process: a descriptor
closed twice (its second close hitting one the code did not open), one left open, a thread left running."""

from __future__ import annotations

import os
import threading

import pytest
from tests.server.process_state import left_as_found


def test_a_second_close_that_lands_on_a_reused_number_is_caught() -> None:
    theirs_read, theirs_write = os.pipe()  # another test's pipe, open before this code runs
    try:
        caught = r"closed or replaced descriptors it did not open: \d+ \(pipe:\[\d+\], now closed\)"
        with pytest.raises(AssertionError, match=caught), left_as_found():
            mine = os.open(os.devnull, os.O_RDONLY)
            os.close(mine)
            os.close(theirs_write)  # "mine" again, but the number now names their pipe
            theirs_write = -1
    finally:
        os.close(theirs_read)
        if theirs_write >= 0:
            os.close(theirs_write)


def test_a_descriptor_left_open_is_caught() -> None:
    opened: list[int] = []
    try:
        with pytest.raises(AssertionError, match=r"left descriptors open: \d+ \(/dev/null\)"), left_as_found():
            opened.append(os.open(os.devnull, os.O_RDONLY))
    finally:
        for fd in opened:
            os.close(fd)


def test_a_thread_left_running_is_caught() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="left-behind")
    try:
        with pytest.raises(AssertionError, match="left threads running: left-behind"), left_as_found(0.1):
            thread.start()
    finally:
        stop.set()
        thread.join()


def test_code_that_cleans_up_passes() -> None:
    with left_as_found():
        read, write = os.pipe()
        os.close(read)
        os.close(write)
        thread = threading.Thread(target=lambda: None)
        thread.start()
