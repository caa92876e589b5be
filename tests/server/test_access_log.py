"""The server's access log, flushed in batches: every line comes out (soon after its request, and all
of them at close), without one flush per request."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

from milkmobs.server.access_log import AccessLog


class CountingOut(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.flushed = ""
        self.lock = threading.Lock()

    def flush(self) -> None:
        with self.lock:
            self.flushes += 1
            self.flushed = self.getvalue()


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def _get(log: AccessLog, path: str) -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1"}
    b"".join(log(environ, lambda status, headers, exc_info=None: None))


def test_lines_are_flushed_in_batches_soon_after_their_requests() -> None:
    out = CountingOut()
    log = AccessLog(_app, out, flush_every=0.05)
    try:
        for i in range(200):
            _get(log, f"/videos/v{i}")
        deadline = time.monotonic() + 10
        while out.flushed.count("\n") < 200:  # the flusher writes them out without another request
            assert time.monotonic() < deadline, out.flushed[-200:]
            time.sleep(0.01)
        assert out.flushes < 50  # batches, not a flush per line
        assert '"GET /videos/v199" 200 ' in out.flushed
    finally:
        log.close()


def test_close_flushes_what_is_left() -> None:
    out = CountingOut()
    log = AccessLog(_app, out, flush_every=3600)
    _get(log, "/feed")
    assert out.flushed == ""
    log.close()
    assert out.flushed.count("\n") == 1 and '"GET /feed" 200 ' in out.flushed


def test_without_a_period_each_line_is_flushed_as_written() -> None:
    out = CountingOut()
    log = AccessLog(_app, out)
    _get(log, "/mobs")
    assert out.flushes == 1 and '"GET /mobs" 200 ' in out.flushed
    log.close()
