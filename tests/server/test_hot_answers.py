"""Plain GETs of the kept routes are answered in waitress' I/O thread — from the page cache, or computed
there by the route table when nothing has to be waited for — with the bytes waitress itself writes for
them; everything else (a request that closes the connection, HTTP/1.0, an uncached route, the route
table busy in a request thread) still goes through the application, in a request thread."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

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
        self.events: list[dict[str, Any]] = []
        self.log = io.StringIO()
        cache = self.cache = PageCache(self._version)
        app = self.app = LocalHttpApp(self._resolve, lambda: None, max_upload_bytes=1024, page_cache=cache)  # type: ignore[arg-type]
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
            HotAnswers(app.answer_now, ident="milkmobs", access_log=self.access_log).install(self.server)
            installed.set()
            self.server.run()

        self.loop_thread = threading.Thread(target=run, daemon=True)
        self.loop_thread.start()
        assert installed.wait(10), "the server's loop did not start"
        self._trigger = self._trigger_pipe()

    def _version(self) -> int:
        if self.version[0] < 0:
            raise OSError("the data directory is gone")
        return self.version[0]

    def _resolve(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        self.resolved.append((event["path"], threading.current_thread().name))
        self.events.append(event)
        if event["path"] == "/videos/missing":
            body = json.dumps({"error": {"code": "not_found", "message": "video missing does not exist"}})
            return {"statusCode": 404, "headers": {"Content-Type": "application/json"}, "body": body}
        body = json.dumps({"path": event["path"], "query": event["queryStringParameters"], "v": self.version[0]})
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}

    @property
    def loop(self) -> str:
        assert self.loop_thread is not None
        return self.loop_thread.name

    def _trigger_pipe(self) -> list[tuple[int, str]]:
        """The descriptors of waitress' wake-up pipe and what they name."""
        return [(fd, os.readlink(f"/proc/self/fd/{fd}")) for fd in self.server.trigger._fds]

    def close(self) -> None:
        def close_all() -> None:  # in the loop's own thread: its map empties and run() returns
            for dispatcher in list(self.server._map.values()):
                dispatcher.close()

        # Nothing but this server may close its wake-up pipe: say so plainly if something else did.
        changed = [(fd, was) for fd, was in self._trigger if _names(fd) != was]
        assert not changed, f"the server's wake-up pipe {changed} was closed by other code: now {_names(changed[0][0])}"
        self.server.trigger.pull_trigger(close_all)
        assert self.loop_thread is not None
        self.loop_thread.join(10)
        assert not self.loop_thread.is_alive(), "the server's loop did not stop"
        self.server.task_dispatcher.shutdown(timeout=5)


def _names(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "closed"


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


def test_a_page_is_computed_once_in_the_io_thread_then_answered_from_the_cache(served: Served) -> None:
    (first,) = exchange(served.port, get("/mobs"))
    assert served.resolved == [("/mobs", served.loop)]  # no hand-over to a request thread
    second, third = exchange(served.port, get("/mobs"), get("/mobs"))
    assert len(served.resolved) == 1  # neither reached the route table again
    assert without_date(second) == without_date(first) == without_date(third)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nServer: milkmobs\r\n" in first and b"\r\nEtag: " in first
    lines = served.log.getvalue().splitlines()
    assert len(lines) == 3 and all('"GET /mobs" 200 ' in line for line in lines)
    assert served.logged_by == [served.loop] * 3


def test_the_io_thread_never_waits_for_the_route_table_and_writes_the_bytes_waitress_writes(served: Served) -> None:
    """With the route table busy (its lock held here), the I/O thread hands a page it would have to
    compute to a request thread and goes on answering the cached ones. Answered later by the I/O thread,
    the same pages — a 200 (kept) and an error (not kept) — are the bytes waitress wrote for them."""
    exchange(served.port, get("/feed?limit=5"))
    served.app._resolve_lock.acquire()
    try:
        answers: list[list[bytes]] = []
        waiting = threading.Thread(
            target=lambda: answers.append(exchange(served.port, get("/mobs"), get("/videos/missing")))
        )
        waiting.start()
        deadline = time.monotonic() + 10
        while not served.app._resolve_lock._waiters:  # a request thread queued for the route table
            assert time.monotonic() < deadline
            time.sleep(0.005)
        (cached,) = exchange(served.port, get("/feed?limit=5"))  # meanwhile the loop answers what it holds
        assert cached.startswith(b"HTTP/1.1 200 OK") and served.logged_by[-1] == served.loop
    finally:
        served.app._resolve_lock.release()
    waiting.join(10)
    ((usual_page, usual_error),) = answers
    assert usual_error.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert [path for path, _ in served.resolved] == ["/feed", "/mobs", "/videos/missing"]
    assert all(thread != served.loop for _, thread in served.resolved[1:])
    io_page, io_error = exchange(served.port, get("/mobs"), get("/videos/missing"))
    assert served.resolved[-1] == ("/videos/missing", served.loop) and len(served.resolved) == 4
    assert without_date(io_page) == without_date(usual_page)
    assert without_date(io_error) == without_date(usual_error)
    assert served.logged_by[-2:] == [served.loop, served.loop]


def test_the_route_table_gets_the_same_event_from_both_ways(served: Served) -> None:
    """Headers as the WSGI application sees them: waitress drops untrusted proxy headers before the
    application; the I/O thread drops the same ones."""
    headers = ("X-Forwarded-For: 10.1.1.1", "Forwarded: for=10.2.2.2", "Origin: http://example.test", "X-Custom: 1")
    exchange(served.port, get("/videos/a", *headers, "Connection: close"))  # the usual way
    exchange(served.port, get("/videos/a?x=1", *headers))  # the I/O thread
    assert [thread == served.loop for _, thread in served.resolved] == [False, True]
    usual, io_thread = served.events
    for event in (usual, io_thread):
        del event["requestContext"]["requestId"], event["requestContext"]["requestTimeEpoch"]
    del usual["headers"]["connection"], usual["multiValueHeaders"]["connection"]
    assert "x-forwarded-for" not in io_thread["headers"] and "forwarded" not in io_thread["headers"]
    assert io_thread["headers"]["x-custom"] == "1"
    assert {**io_thread, "queryStringParameters": None, "multiValueQueryStringParameters": None} == usual


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
    (other_query,) = exchange(served.port, get("/feed?limit=3"))  # computed in the I/O thread
    assert b'"limit": "3"' in other_query
    exchange(served.port, get("/feed?limit=4", "Connection: close"))
    exchange(served.port, "GET /feed?limit=5 HTTP/1.0\r\nHost: testserver\r\n\r\n")
    exchange(served.port, get("/admin/stats"), get("/admin/stats"))  # never kept
    assert [(path, thread == served.loop) for path, thread in served.resolved] == [
        ("/feed", True),
        ("/feed", True),
        ("/feed", False),
        ("/feed", False),
        ("/admin/stats", False),
        ("/admin/stats", False),
    ]
    exchange(served.port, get("/feed?limit=2", "Connection: close"))
    assert len(served.resolved) == 6  # the closing request went the usual way, but from the cached page
    assert served.logged_by[-1] != served.loop


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

        def send(self, data: bytes) -> int:  # a full socket: takes nothing
            return 0

    from waitress.parser import HTTPRequestParser  # type: ignore[import-untyped]

    request = HTTPRequestParser(served.server.adj)
    request.received(get("/mobs").encode())
    hot = HotAnswers(served.app.answer_now, ident="milkmobs")
    full = Channel(request)
    assert not hot.answer(full) and full.requests == [request] and not full.written
    full.total_outbufs_len = 0
    assert hot.answer(full) and full.requests == [] and full.written[0].startswith(b"HTTP/1.1 200 OK")


def test_the_io_thread_never_waits_for_a_page_another_thread_is_computing() -> None:
    cache = PageCache(lambda: 1)
    computing, finish = threading.Event(), threading.Event()

    def slow() -> tuple[int, list[tuple[str, str]], bytes]:
        computing.set()
        assert finish.wait(10)
        return 200, [("Content-Type", "application/json")], b"{}"

    environ = {"QUERY_STRING": "", "wsgi.input": io.BytesIO()}
    usual = threading.Thread(target=lambda: cache.answer(environ, lambda *_: None, "/mobs", slow))
    usual.start()
    assert computing.wait(10)
    try:
        assert cache.answer_now("/mobs", "", "", "", lambda: pytest.fail("computed twice")) is None
    finally:
        finish.set()
        usual.join(10)
    page = cache.answer_now("/mobs", "", "", "", lambda: pytest.fail("computed twice"))
    assert page is not None and page[0] == "200 OK" and page[2] == b"{}"
    assert cache.answer_now("/admin/stats", "", "", "", lambda: pytest.fail("not a kept route")) is None


def test_an_answer_is_sent_at_once_and_what_the_socket_does_not_take_is_buffered(served: Served) -> None:
    """waitress sends its buffers at the next poll round, after the requests read meanwhile were answered;
    the I/O thread sends its answer right away, as far as the socket takes it, and buffers the rest."""
    from waitress.parser import HTTPRequestParser

    class Channel:
        connected = True
        addr = ("127.0.0.1", 1)
        adj = served.server.adj
        total_outbufs_len = 0
        last_activity = 0.0

        def __init__(self, request: Any, takes: int) -> None:
            self.requests = [request]
            self.takes = takes
            self.sent: list[bytes] = []
            self.written: list[bytes] = []

        def send(self, data: bytes) -> int:
            self.sent.append(data[: self.takes])
            return len(self.sent[-1])

        def write_soon(self, data: bytes) -> None:
            self.written.append(data)

    hot = HotAnswers(served.app.answer_now, ident="milkmobs")
    answers = []
    for takes in (1 << 20, 100, 0):
        request = HTTPRequestParser(served.server.adj)
        request.received(get("/mobs").encode())
        channel = Channel(request, takes)
        assert hot.answer(channel) and channel.requests == []
        answers.append(b"".join(channel.sent + channel.written))
        assert len(channel.written) == (takes < len(answers[-1]))
        assert (channel.last_activity > 0) == (takes > 0)
    assert answers[0].startswith(b"HTTP/1.1 200 OK") and len({without_date(a) for a in answers}) == 1
    busy = Channel(HTTPRequestParser(served.server.adj), 1 << 20)
    busy.requests[0].received(get("/mobs").encode())
    busy.total_outbufs_len = 10  # an earlier answer still queued: this one goes after it
    assert hot.answer(busy) and busy.sent == [] and busy.written[0].startswith(b"HTTP/1.1 200 OK")


def test_a_single_plain_get_is_answered_before_waitress_parses_it(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from waitress.parser import HTTPRequestParser

    parsed: list[bytes] = []
    received = HTTPRequestParser.received

    def counting(self: Any, data: bytes) -> Any:
        parsed.append(data)
        return received(self, data)

    monkeypatch.setattr(HTTPRequestParser, "received", counting)
    (first,) = exchange(served.port, get("/mobs?limit=2", 'If-None-Match: "x"'))
    (second,) = exchange(served.port, get("/mobs?limit=2"))
    assert parsed == [] and served.resolved == [("/mobs", served.loop)]
    assert first.startswith(b"HTTP/1.1 200 OK") and without_date(first) == without_date(second)
    exchange(served.port, get("/mobs?limit=2"), get("/mobs?limit=3"))  # two in one read: waitress' to parse
    assert parsed and served.resolved[-1] == ("/mobs", served.loop)
    assert served.log.getvalue().count('"GET /mobs?limit=2" 200 ') == 3


#: Requests a plain-GET reader could get wrong: each must reach the route table as waitress hands it over.
_UNUSUAL = [
    "GET /videos/a%20b HTTP/1.1\r\nHost: t\r\n",
    "GET /videos/c?q=%41&r=%2F HTTP/1.1\r\nHost: t\r\n",
    "GET /videos/d#frag HTTP/1.1\r\nHost: t\r\n",
    "GET /videos/e HTTP/1.1\r\nHost: t\r\nX_Under: 1\r\n",
    "GET /videos/f HTTP/1.1\r\nHost: t\r\nX-Twice: 1\r\nX-Twice: 2\r\n",
    "GET /videos/g HTTP/1.1\r\nHost: t\r\nX-Spaces: \t two  words \t\r\n",
    "GET /videos/h HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n",
    "GET /videos/i HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n",
    "GET /videos/j HTTP/1.1\r\nhost: t\r\nx-lower-case: Yes\r\n",
    'GET /videos/k?a=1&a=2&b HTTP/1.1\r\nHost: t\r\nIf-None-Match: "abc"\r\n',
    "GET /videos/l;p=1 HTTP/1.1\r\nHost: t\r\nOrigin: http://example.test\r\n",
    "GET /videos/%C3%A9n HTTP/1.1\r\nHost: t\r\n",
]


@pytest.mark.parametrize("request_head", _UNUSUAL)
def test_an_unusual_request_reaches_the_route_table_as_waitress_hands_it_over(
    served: Served, request_head: str
) -> None:
    (usual,) = exchange(served.port, request_head + "Connection: close\r\n\r\n")
    served.version[0] += 1  # computed again, not answered from the cache
    (hot,) = exchange(served.port, request_head + "\r\n")
    assert [thread == served.loop for _, thread in served.resolved] == [False, True]
    before, after = served.events
    for event in (before, after):
        del event["requestContext"]["requestId"], event["requestContext"]["requestTimeEpoch"]
        for headers in (event["headers"], event["multiValueHeaders"]):
            if headers.get("connection") in ("close", ["close"], "keep-alive", ["keep-alive"]):
                del headers["connection"]
    assert after == before

    def same(answer: bytes) -> bytes:  # less the closing request's own header and what the version changed
        lines = without_date(answer.replace(b'"v": 2', b'"v": 1')).split(b"\r\n")
        return b"\r\n".join(line for line in lines if not line.startswith((b"Etag: ", b"Connection: close")))

    assert same(hot) == same(usual)


def test_a_malformed_request_gets_waitress_own_refusal(served: Served) -> None:
    for bad in (
        "GET /videos/x HTTP/1.1\r\nHost: t\r\nBad Header: 1\r\n\r\n",
        "GET /videos/y HTTP/1.1\r\nHost: t\nX: 1\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
            sock.sendall(bad.encode())
            answer = sock.recv(65536)
        assert answer.startswith((b"HTTP/1.0 400 Bad Request", b"HTTP/1.1 400 Bad Request")), answer
    assert served.resolved == []


class ReadChannel:
    """What ``answer_read`` sees of a waitress channel that has just read one request."""

    request = None
    will_close = close_when_flushed = False
    connected = True
    addr = ("127.0.0.1", 1)
    total_outbufs_len = 0
    last_activity = 0.0

    def __init__(self, adj: Any) -> None:
        self.adj = adj
        self.requests: list[Any] = []
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> int:
        self.sent.append(data)
        return len(data)

    def write_soon(self, data: bytes) -> None:
        raise AssertionError("the socket took the whole answer")


def test_the_answers_read_in_one_poll_round_go_out_together_at_its_end(served: Served) -> None:
    exchange(served.port, get("/mobs"))  # kept: answering it again computes nothing
    hot = HotAnswers(served.app.answer_now, ident="milkmobs")
    channels = [ReadChannel(served.server.adj) for _ in range(3)]
    for channel in channels:
        assert hot.answer_read(channel, get("/mobs").encode())
    assert [channel.sent for channel in channels] == [[], [], []]
    gone = ReadChannel(served.server.adj)
    assert hot.answer_read(gone, get("/mobs").encode())
    gone.connected = False  # the client went before the round ended
    hot.send_held()
    assert all(len(channel.sent) == 1 and channel.sent[0].startswith(b"HTTP/1.1 200 OK") for channel in channels)
    assert gone.sent == []
    hot.send_held()  # nothing is sent twice
    assert all(len(channel.sent) == 1 for channel in channels)


def test_answers_whose_computing_took_long_are_not_held_back(served: Served) -> None:
    from milkmobs.server.hot_answers import HOLD_BACK_SECONDS

    def slow(*args: Any) -> Any:
        time.sleep(HOLD_BACK_SECONDS * 2)
        return served.app.answer_now(*args)

    hot = HotAnswers(slow, ident="milkmobs")
    channel = ReadChannel(served.server.adj)
    assert hot.answer_read(channel, get("/mobs").encode())
    assert len(channel.sent) == 1 and channel.sent[0].startswith(b"HTTP/1.1 200 OK")


def test_the_loop_sends_what_is_held_after_every_poll_round_also_when_stopped() -> None:
    import waitress.wasyncore as wasyncore  # type: ignore[import-untyped]

    from milkmobs.server.hot_answers import _RoundEnd

    calls: list[str] = []

    class Loop:  # the part of waitress' loop module its loop uses
        socket_map: ClassVar[dict[int, Any]] = {}

        @staticmethod
        def poll(timeout: float, map: Any) -> None:
            calls.append("poll")
            if len(calls) > 4:
                raise KeyboardInterrupt  # how the server's signal handler ends the loop

    with pytest.raises(KeyboardInterrupt):
        _RoundEnd(Loop, lambda: calls.append("sent")).loop(map={1: object()})
    assert calls == ["poll", "sent"] * 3
    _RoundEnd(Loop, lambda: calls.append("sent")).loop(map={1: object()}, count=0)
    assert len(calls) == 6  # as waitress' loop: no round when counted out
    assert _RoundEnd(wasyncore, lambda: None).dispatcher is wasyncore.dispatcher  # the rest is waitress' own


def test_the_installed_server_ends_its_rounds_by_sending_what_they_answered(served: Served) -> None:
    from milkmobs.server.hot_answers import _RoundEnd

    assert isinstance(served.server.asyncore, _RoundEnd)
    for _ in range(2):  # computed, then kept: each held to its round's end and sent there
        (answer,) = exchange(served.port, get("/mobs"))
        assert answer.startswith(b"HTTP/1.1 200 OK")
    assert served.logged_by == [served.loop] * 2
