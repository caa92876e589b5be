"""Current cached pages are answered in waitress' I/O thread with the bytes waitress itself writes for
them; everything else (a first request, a changed data version, a conditional GET, a request that
closes the connection, an uncached route) still goes through the application, in a request thread."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from waitress.server import create_server  # type: ignore[import-untyped]

from milkmobs.server.access_log import AccessLog
from milkmobs.server.hot_answers import HotAnswers
from milkmobs.server.page_cache import PageCache
from milkmobs.server.wsgi import LocalHttpApp


class Served:
    """The worker's stack (route table stand-in → LocalHttpApp with its page cache → AccessLog →
    waitress with HotAnswers), on a port of its own; ``resolved`` records the requests the route
    table answered and the thread that ran each."""

    def __init__(self) -> None:
        self.version = [1]
        self.resolved: list[tuple[str, str]] = []
        self.log = io.StringIO()
        cache = self.cache = PageCache(self._version)
        app = LocalHttpApp(self._resolve, lambda: None, max_upload_bytes=1024, page_cache=cache)  # type: ignore[arg-type]
        self.access_log = AccessLog(app, self.log)
        self.logged_by: list[str] = []  # the thread that logged each answer: the one that wrote it
        record = self.access_log.record

        def record_thread(*args: Any) -> None:
            self.logged_by.append(threading.current_thread().name)
            record(*args)

        self.access_log.record = record_thread  # type: ignore[method-assign]
        self.server: Any = create_server(self.access_log, host="127.0.0.1", port=0, threads=2, ident="milkmobs")
        self.port = self.server.socket.getsockname()[1]
        self.loop_thread: threading.Thread | None = None
        installed = threading.Event()

        def run() -> None:
            HotAnswers(cache, ident="milkmobs", access_log=self.access_log).install(self.server)
            installed.set()
            self.server.run()

        self.loop_thread = threading.Thread(target=run, daemon=True)
        self.loop_thread.start()
        installed.wait(10)

    def _version(self) -> int:
        if self.version[0] < 0:
            raise OSError("the data directory is gone")
        return self.version[0]

    def _resolve(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        self.resolved.append((event["path"], threading.current_thread().name))
        body = json.dumps({"path": event["path"], "query": event["queryStringParameters"], "v": self.version[0]})
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}

    def close(self) -> None:
        def close_all() -> None:  # in the loop's own thread: its map empties and run() returns
            for dispatcher in list(self.server._map.values()):
                dispatcher.close()

        self.server.trigger.pull_trigger(close_all)
        assert self.loop_thread is not None
        self.loop_thread.join(10)
        self.server.task_dispatcher.shutdown(timeout=5)


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served()
    try:
        yield server
    finally:
        server.close()


def exchange(port: int, *requests: str) -> list[bytes]:
    """Send the requests on one connection in one write (pipelined); read one answer per request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall("".join(requests).encode())
        buffer, answers = b"", []
        while len(answers) < len(requests):
            head, sep, rest = buffer.partition(b"\r\n\r\n")
            if sep:
                lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                size = int(lengths[0].split(b":")[1]) if lengths else 0
                if len(rest) >= size:
                    answers.append(head + sep + rest[:size])
                    buffer = rest[size:]
                    continue
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed after {len(answers)} answers")
            buffer += chunk
        return answers


def get(path: str, *headers: str) -> str:
    return "".join([f"GET {path} HTTP/1.1\r\nHost: testserver\r\n", *(h + "\r\n" for h in headers), "\r\n"])


def without_date(answer: bytes) -> bytes:
    return b"\r\n".join(line for line in answer.split(b"\r\n") if not line.startswith(b"Date: "))


def test_a_current_page_is_answered_before_the_task_queue_with_the_same_bytes(served: Served) -> None:
    (first,) = exchange(served.port, get("/mobs"))
    assert [path for path, _ in served.resolved] == ["/mobs"]
    assert served.resolved[0][1] != served.loop_thread.name  # type: ignore[union-attr]
    second, third = exchange(served.port, get("/mobs"), get("/mobs"))
    assert len(served.resolved) == 1  # neither reached the application
    assert without_date(second) == without_date(first) == without_date(third)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nServer: milkmobs\r\n" in first and b"\r\nEtag: " in first
    lines = served.log.getvalue().splitlines()
    assert len(lines) == 3 and all('"GET /mobs" 200 ' in line for line in lines)
    loop = served.loop_thread.name  # type: ignore[union-attr]
    assert served.logged_by[0] != loop and served.logged_by[1:] == [loop, loop]


def test_a_new_data_version_is_computed_again(served: Served) -> None:
    (before,) = exchange(served.port, get("/videos/v1"))
    served.version[0] = 2
    (after,) = exchange(served.port, get("/videos/v1"))
    assert [path for path, _ in served.resolved] == ["/videos/v1", "/videos/v1"]
    assert b'"v": 1' in before and b'"v": 2' in after


def test_a_conditional_get_of_a_current_page_gets_its_304_on_the_same_connection(served: Served) -> None:
    (page,) = exchange(served.port, get("/feed?limit=2"))
    etag = next(line for line in page.split(b"\r\n") if line.startswith(b"Etag: ")).split(b": ")[1].decode()
    # Two revalidations and a plain GET on one kept-alive connection (waitress would close it after a 304).
    first, second, plain = exchange(
        served.port,
        get("/feed?limit=2", f"If-None-Match: {etag}"),
        get("/feed?limit=2", f'If-None-Match: "other", {etag}'),
        get("/feed?limit=2", 'If-None-Match: "other"'),
    )
    for unchanged in (first, second):
        assert unchanged.startswith(b"HTTP/1.1 304 Not Modified\r\n") and unchanged.endswith(b"\r\n\r\n")
        assert f"\r\nEtag: {etag}\r\n".encode() in unchanged and b"Content-Length" not in unchanged
        assert b"Connection: close" not in unchanged
    assert without_date(plain) == without_date(page)
    assert len(served.resolved) == 1
    loop = served.loop_thread.name  # type: ignore[union-attr]
    assert served.logged_by[1:] == [loop, loop, loop]
    assert served.log.getvalue().count('"GET /feed?limit=2" 304 ') == 2


def test_other_requests_go_through_the_application(served: Served) -> None:
    exchange(served.port, get("/feed?limit=2"))
    (other_query,) = exchange(served.port, get("/feed?limit=3"))
    assert b'"limit": "3"' in other_query
    exchange(served.port, get("/feed?limit=2", "Connection: close"))
    exchange(served.port, "GET /feed?limit=2 HTTP/1.0\r\nHost: testserver\r\n\r\n")
    exchange(served.port, get("/admin/stats"), get("/admin/stats"))  # never cached
    paths = [path for path, _ in served.resolved]
    assert paths == ["/feed", "/feed", "/admin/stats", "/admin/stats"]
    # The closing and the HTTP/1.0 request went the usual way, but from the cached page.
    assert served.log.getvalue().count('"GET /feed?limit=2" 200 ') == 3
    assert served.loop_thread.name not in served.logged_by  # type: ignore[union-attr]


def test_a_data_version_that_cannot_be_read_is_answered_the_usual_way(served: Served) -> None:
    exchange(served.port, get("/mobs"))
    served.version[0] = -1
    (answer,) = exchange(served.port, get("/mobs"))
    assert answer.startswith(b"HTTP/1.1 500 ") and b'"internal_error"' in answer


def test_an_answer_that_would_fill_the_output_buffer_past_its_mark_goes_the_usual_way(served: Served) -> None:
    """waitress makes a writer wait until the I/O thread flushes below ``outbuf_high_watermark``: the I/O
    thread itself must never be that writer (a client pipelining big pages would hang the worker)."""
    exchange(served.port, get("/mobs"))

    class Channel:  # what HotAnswers reads of a waitress channel, with its output already near the mark
        connected = True
        addr = ("127.0.0.1", 1)
        adj = served.server.adj
        total_outbufs_len = served.server.adj.outbuf_high_watermark - 10

        def __init__(self, request: Any) -> None:
            self.requests = [request]
            self.written: list[bytes] = []

        def write_soon(self, data: bytes) -> None:
            self.written.append(data)

    from waitress.parser import HTTPRequestParser  # type: ignore[import-untyped]

    request = HTTPRequestParser(served.server.adj)
    request.received(get("/mobs").encode())
    hot = HotAnswers(served.cache, ident="milkmobs")
    full = Channel(request)
    assert not hot.answer(full) and full.requests == [request] and not full.written
    full.total_outbufs_len = 0
    assert hot.answer(full) and full.requests == [] and full.written[0].startswith(b"HTTP/1.1 200 OK")
