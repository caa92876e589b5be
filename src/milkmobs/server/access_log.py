"""One access-log line per request: client, method, path (query included), status, milliseconds, bytes.

Credentials never reach the log: request headers (``Authorization``) are not logged at all, the values
of query parameters that carry secrets (media URL signatures, tokens) are replaced by ``***``, and
so is any configured secret (the admin token) wherever it would appear.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_SECRET_PARAM = re.compile(r"(?i)((?:^|&)[^=&]*(?:token|signature|secret|password|auth)[^=&]*=)[^&]*")


def redact_query(query: str) -> str:
    """``query`` with the values of secret-looking parameters replaced by ``***``."""
    return _SECRET_PARAM.sub(r"\1***", query)


class AccessLog:
    """WSGI middleware writing one line per request to ``out`` once the answer is sent.

    ``flush_every`` (seconds): lines are flushed that often (and at :meth:`close`) rather than one
    write call per request — under load, flushing each line was a tenth of a worker's time, plus the
    reader's on the other end. None: each line is flushed as it is written."""

    def __init__(
        self, app: WsgiApp, out: TextIO, *, secrets: Sequence[str] = (), flush_every: float | None = None
    ) -> None:
        self._app = app
        self._out = out
        self._secrets = [s for s in secrets if s]
        self._lock = threading.Lock()  # guards _pending only: requests never wait on a write
        self._write_lock = threading.Lock()  # one writer of ``out`` at a time
        self._buffered = flush_every is not None
        self._pending: list[str] = []
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None
        if flush_every is not None:
            self._flusher = threading.Thread(
                target=self._flush_periodically, args=(flush_every,), name="milkmobs-access-log", daemon=True
            )
            self._flusher.start()

    def flush(self) -> None:
        """Write out the lines not flushed yet."""
        with self._write_lock:
            with self._lock:
                lines, self._pending = self._pending, []
            if lines:
                self._out.write("".join(lines))
                self._out.flush()

    def close(self) -> None:
        """Stop the periodic flush and flush what is left (the server has stopped answering)."""
        self._closed.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        self.flush()

    def _flush_periodically(self, every: float) -> None:
        while not self._closed.wait(every):
            self.flush()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status = ["-"]

        def start(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = line.split(" ", 1)[0]
            return start_response(line, headers) if exc_info is None else start_response(line, headers, exc_info)

        body = self._app(environ, start)
        if isinstance(body, list):  # the usual case: the whole answer is ready
            self._write(environ, status[0], started, sum(len(chunk) for chunk in body))
            return body
        return _LoggedBody(body, lambda size: self._write(environ, status[0], started, size))

    def _write(self, environ: dict[str, Any], status: str, started: float, size: int) -> None:
        self.record(
            str(environ.get("REMOTE_ADDR", "-")),
            str(environ.get("REQUEST_METHOD", "-")),
            str(environ.get("PATH_INFO", "/")),
            str(environ.get("QUERY_STRING", "")),
            status,
            started,
            size,
        )

    def record(self, client: str, method: str, path: str, query: str, status: str, started: float, size: int) -> None:
        """Log one answer sent without this middleware (``status``: its code or whole status line,
        ``started``: ``time.perf_counter()`` when the request was read, ``size``: body bytes)."""
        millis = (time.perf_counter() - started) * 1000
        target = f"{path}?{redact_query(query)}" if query else path
        line = f'{client} "{method} {target}" {status.split(" ", 1)[0]} {millis:.1f}ms {size}B'
        for secret in self._secrets:
            line = line.replace(secret, "***")
        if self._buffered:
            with self._lock:
                self._pending.append(line + "\n")
            return
        with self._write_lock:
            self._out.write(line + "\n")
            self._out.flush()


class _LoggedBody:
    """A streamed answer: counts the bytes as they go and logs when the server closes it."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self._body = body
        self._done = done
        self._size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._size += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done(self._size)
