"""Every server test leaves the process's descriptors and threads as it found them
(``tests/server/process_state.py`` says why)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.server.process_state import left_as_found


@pytest.fixture(autouse=True)
def leaves_descriptors_and_threads_as_it_found_them() -> Iterator[None]:
    if not os.path.isdir("/proc/self/fd"):  # pragma: no cover - the check reads Linux's /proc
        yield
        return
    with left_as_found():
        yield
