"""Plain GETs of the kept routes answered in waitress' I/O thread, before its task queue.

A cached page costs a dictionary lookup, yet through waitress it also costs a hand-over to a request
thread and back (a condition variable, the interpreter lock handed around twice), the WSGI environ
and ``start_response``, which were most of a cached answer's cost. A computed page paid more: the
I/O thread, busy answering, kept taking the interpreter lock back from the request thread computing
it. So when the I/O thread has read a whole request of a kept route, it asks ``answer_now``
(``LocalHttpApp.answer_now``: the page cache, else the shared pages, else the route table itself,
never waiting for a lock another thread holds) and writes that answer — the same bytes waitress
would write for it (headers capitalised and sorted, ``Server``, ``Date``) — and logs it; every other
request, and one ``answer_now`` cannot answer without waiting, goes to the task queue as before.
There is still one route table: the same resolver answers both ways.

The answers to the plain GETs one poll round of the loop read go out together at the end of that
round (or as soon as those held back took ``HOLD_BACK_SECONDS`` to compute), not each as soon as it
is made: a send on loopback wakes the client, which then takes the core the next page would have
been computed on, and every such switch left the next page's computing slower (measured: a
``/videos/{id}`` page cost a worker twice the CPU it costs in one process alone). With a round's
answers sent together, the benchmark's ``/videos/{id}`` served 9-33% more requests than before in six
paired runs while the machine's speed held steady (docs/local-backend.md has the series).

Only the plain case is taken: ``GET`` over HTTP/1.1 on a kept-alive connection, no body, no
``Expect``. A conditional GET naming the page's ETag gets its ``304`` here on the same kept-alive
connection (waitress closes the connection after a ``304``, as it has no ``Content-Length``: a
browser revalidating a page paid a new connection each time).
"""

from __future__ import annotations

import re
import select
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from waitress.rfc7230 import HEADER_FIELD_RE  # type: ignore[import-untyped]
from waitress.utilities import build_http_date  # type: ignore[import-untyped]

from milkmobs.server.access_log import AccessLog

if TYPE_CHECKING:
    from milkmobs.server.page_cache import CurrentPage


#: The most computing (seconds) the answers held back for the end of a poll round may have taken
#: before they are sent at once: what the first of them may wait beyond its own.
HOLD_BACK_SECONDS = 0.001

#: What answers a plain GET right away (path, query, headers as waitress' parser keeps them, client
#: address), or None: ``LocalHttpApp.answer_now``.
AnswerNow = Callable[[str, str, Mapping[str, str], str], "CurrentPage | None"]


class HotAnswers:
    """Installs itself on a waitress server (``create_server``'s result) with :meth:`install`."""

    def __init__(self, answer_now: AnswerNow, *, ident: str, access_log: AccessLog | None = None) -> None:
        self._answer_now = answer_now
        self._head = _Heads(ident)
        self._log = access_log
        self._loop_thread: int | None = None  # the thread running the server's loop (set by install)
        self._held: list[tuple[Any, bytes]] = []  # answers to send at the end of the poll round (loop thread)
        self._held_cost = 0.0  # seconds their computing took

    def install(self, server: Any) -> None:
        """Answer hot pages on ``server``'s listeners before their task queue. Call it from the
        thread that will run ``server.run()``, after any other change of their channel class (this
        one reads with a subclass of it)."""
        self._loop_thread = threading.get_ident()
        if hasattr(server, "asyncore"):  # waitress' loop module, an attribute so it can be replaced per server
            server.asyncore = _RoundEnd(server.asyncore, self.send_held)
        listeners = [server] if hasattr(server, "channel_class") else list(getattr(server, "map", {}).values())
        for listener in listeners:
            if hasattr(listener, "add_task"):
                listener.add_task = self._before(listener.add_task)
            if hasattr(listener, "channel_class"):
                listener.channel_class = self._reading(listener.channel_class)

    def _before(self, add_task: Callable[[Any], None]) -> Callable[[Any], None]:
        def add(channel: Any) -> None:
            # waitress calls this with the channel's request lock held, the request first in line and no
            # task running for the channel (from the I/O thread); from a task thread, it queues the next.
            if getattr(channel, "declined", False):  # answer_now just said no to this very request
                channel.declined = False
                add_task(channel)
            elif threading.get_ident() != self._loop_thread or not self.answer(channel):
                add_task(channel)

        return add

    def _reading(self, channel_class: type) -> type:
        """``channel_class`` whose channels first try :meth:`answer_read` on the bytes they read."""
        hot = self

        class Channel(channel_class):  # type: ignore[misc]
            declined = False  # answer_now declined the request just read: waitress' add_task must not ask again

            def received(self, data: bytes) -> bool:
                if hot.answer_read(self, data):
                    return True
                try:
                    return bool(super().received(data))
                finally:
                    self.declined = False

        return Channel

    def answer_read(self, channel: Any, data: bytes) -> bool:
        """Answer the bytes a channel read if they are exactly one plain GET, from before waitress parses
        them (its parser was as much of a worker's time as the page cache): True when answered.
        Anything else — a partial, pipelined or unusual request, a header waitress would drop or
        join, an answer that cannot be given now — is left to waitress, which parses the same bytes."""
        started = time.perf_counter()
        if (
            channel.request is not None  # the rest of an earlier request
            or channel.requests  # one still being answered: answers go out in order
            or channel.will_close
            or channel.close_when_flushed
            or not channel.connected
            or not data.startswith(b"GET /")
            or not data.endswith(b"\r\n\r\n")
            or len(data) >= channel.adj.max_request_header_size
        ):
            return False
        request = _plain_get(data[:-4])
        if request is None:
            return False
        path, query, headers = request
        sent = self._write(channel, path, query, headers, started)
        if sent is None:
            channel.declined = True  # waitress parses it next and queues it for a request thread
            return False
        self._held.append((channel, sent))  # no other answer of this channel can come before the round ends
        self._held_cost += time.perf_counter() - started
        if self._held_cost > HOLD_BACK_SECONDS:
            self.send_held()
        return True

    def send_held(self) -> None:
        """Send the answers held back (the loop does at the end of every poll round), in their order."""
        held, self._held, self._held_cost = self._held, [], 0.0
        for channel, data in held:
            if channel.connected:  # closed meanwhile (the client went): nobody to answer
                _send(channel, data)

    def answer(self, channel: Any) -> bool:
        """Write the answer of the channel's first request (parsed by waitress) if it can be given now."""
        started = time.perf_counter()
        request = channel.requests[0]
        headers = request.headers
        if (
            request.error is not None
            or request.command != "GET"
            or request.version != "1.1"
            or request.content_length
            or not channel.connected
            or "EXPECT" in headers
            or "TRANSFER_ENCODING" in headers
            or headers.get("CONNECTION", "").lower() == "close"
        ):
            return False
        # PATH_INFO as the WSGI application sees it (waitress hands it over latin-1-decoded).
        path = str(request.path).encode("latin-1").decode("utf-8", "replace") or "/"
        answer = self._write(channel, path, str(request.query), headers, started)
        if answer is None:
            return False
        channel.requests.pop(0)  # answered: the next request of the channel may go on (pipelining)
        request.close()
        _send(channel, answer)
        return True

    def _write(self, channel: Any, path: str, query: str, headers: Mapping[str, str], started: float) -> bytes | None:
        """The bytes of the answer, logged, or None when it is the usual way's to give."""
        client = str(channel.addr[0]) if channel.addr else "-"
        try:
            page = self._answer_now(path, query, headers, client)
        except Exception:  # e.g. the data unreadable: the usual way answers with the error
            return None
        if page is None:
            return None
        status, page_headers, body = page
        answer = self._head(status, page_headers) + body
        if channel.total_outbufs_len + len(answer) > channel.adj.outbuf_high_watermark:
            # waitress would wait for the I/O thread to flush below its mark: from that very thread, forever
            return None
        if self._log is not None:  # before sending, as the middleware logs before waitress sends
            self._log.record(client, "GET", path, query, status, started, len(body))
        return answer


#: A request target waitress' parser hands over unchanged: origin-form, plain characters only (no
#: percent-escape to decode, no fragment, no whitespace or control character, nothing non-ASCII).
_PLAIN_TARGET = re.compile(rb"/(?!/)[-!$&'()*+,./0-9:;=?@A-Z_a-z~]*")
#: What waitress refuses or treats its own way when a request carries it.
_NOT_PLAIN = frozenset({"CONTENT_LENGTH", "TRANSFER_ENCODING", "EXPECT"})


def _plain_get(head: bytes) -> tuple[str, str, dict[str, str]] | None:
    """Path, query and headers (named as waitress names them: ``IF_NONE_MATCH``) of the request ``head``
    (its lines without the blank one) when it is a plain HTTP/1.1 GET that waitress would parse into just
    that, kept alive; else None."""
    lines = head.split(b"\r\n")
    if head.count(b"\r") != len(lines) - 1 or head.count(b"\n") != len(lines) - 1:
        return None  # a bare CR or LF: waitress refuses it
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[2] != b"HTTP/1.1" or not _PLAIN_TARGET.fullmatch(parts[1]):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        field = HEADER_FIELD_RE.match(line)  # also refuses a folded line, a bare CR or LF, an empty line
        if field is None:
            return None
        name, value = field.group("name", "value")
        if b"_" in name:
            return None  # waitress drops it
        key = name.upper().replace(b"-", b"_").decode("latin-1")
        if key in headers or key in _NOT_PLAIN:
            return None  # waitress joins repeated headers; bodies and expectations are its own
        headers[key] = value.strip(b" \t").decode("latin-1")
    if headers.get("CONNECTION", "").lower() == "close":
        return None
    path, _, query = parts[1].decode("ascii").partition("?")
    return path, query, headers


def _send(channel: Any, data: bytes) -> None:
    """Send ``data`` on the channel now, as far as its socket takes it, the rest through its output
    buffer. waitress only sends a buffer at its next poll round, after the requests read meanwhile: with
    pages computed in this thread, an answer waited for every page computed after it."""
    if not channel.total_outbufs_len:  # nothing queued before it
        sent = channel.send(data)  # non-blocking: 0 when the socket is full, or gone (then it is closed)
        if sent:
            channel.last_activity = time.time()
            data = data[sent:]
        if not channel.connected:
            return
    if data:
        channel.write_soon(data)


class _RoundEnd:
    """waitress' loop module for one server, its loop calling ``round_end`` after every poll round
    (also when the round ends by an exception, such as the KeyboardInterrupt that stops the server)."""

    def __init__(self, module: Any, round_end: Callable[[], None]) -> None:
        self._module = module
        self._round_end = round_end

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def loop(self, timeout: float = 30.0, use_poll: bool = False, map: Any = None, count: int | None = None) -> None:
        """``wasyncore.loop`` with the round's end."""
        module = self._module
        if map is None:
            map = module.socket_map
        poll = module.poll2 if use_poll and hasattr(select, "poll") else module.poll
        while map and (count is None or count > 0):
            try:
                poll(timeout, map)
            finally:
                self._round_end()
            if count is not None:
                count -= 1


class _Heads:
    """The status line and headers as waitress writes them for a kept-alive HTTP/1.1 answer with a
    ``Content-Length`` (``waitress.task.Task.build_response_header``); a ``304`` has neither body nor
    ``Content-Length``. A cached page hands the same headers list every time: its head is kept, less
    the ``Date`` line (made once a second), keyed by that list (held, so its id is not reused). A new
    page's head is its values put into the template of its status and header names (names capitalised
    and sorted once per shape, not once per page)."""

    _MAX = 4096

    def __init__(self, ident: str) -> None:
        self._ident = ident
        self._kept: dict[tuple[str, int], tuple[list[tuple[str, str]], bytes, bytes | None]] = {}
        self._shapes: dict[tuple[str, tuple[str, ...]], str] = {}
        self._date = (0, b"")
        self._names: dict[str, str] = {}  # header name -> as waitress writes it (the route table's few names)

    def __call__(self, status: str, headers: list[tuple[str, str]]) -> bytes:
        key = (status, id(headers))
        kept = self._kept.get(key)
        if kept is None or kept[0] is not headers:
            if len(self._kept) >= self._MAX:
                self._kept.clear()
            kept = self._kept[key] = (headers, *self._split(status, headers))
        _, before, after = kept
        return before if after is None else before + self._date_line() + after

    def _split(self, status: str, headers: list[tuple[str, str]]) -> tuple[bytes, bytes | None]:
        """The head before the ``Date`` value and after it (None: the page has its own ``Date``)."""
        shape = (status, tuple([name for name, _ in headers]))
        template = self._shapes.get(shape)
        if template is None:
            if len(self._shapes) >= self._MAX:
                self._shapes.clear()
            template = self._shapes[shape] = self._template(*shape)
        head = template.format(*[value for _, value in headers]).encode("latin-1")
        before, date, after = head.partition(b"\0")  # where the Date value goes (no header holds a NUL)
        return (before, after) if date else (head, None)

    def _template(self, status: str, names: tuple[str, ...]) -> str:
        """A ``str.format`` template of the head, the n-th header's value as ``{n}`` and a NUL where the
        ``Date`` value goes (none when the page has its own ``Date``)."""
        named = [(self._name(name), f"{{{n}}}") for n, name in enumerate(names)]
        written = {name for name, _ in named}
        ident = _braced(self._ident)
        named.append(("Via", ident) if "Server" in written else ("Server", ident))
        if "Date" not in written:
            named.append(("Date", "\0"))
        lines = [
            f"HTTP/1.1 {_braced(status)}",
            *(f"{_braced(name)}: {value}" for name, value in sorted(named, key=lambda hv: hv[0])),
        ]
        return "\r\n".join(lines) + "\r\n\r\n"

    def _name(self, name: str) -> str:
        written = self._names.get(name)
        if written is None:
            if len(self._names) >= self._MAX:
                self._names.clear()
            written = self._names[name] = "-".join(part.capitalize() for part in name.split("-"))
        return written

    def _date_line(self) -> bytes:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, build_http_date(now).encode("latin-1"))
        return self._date[1]


def _braced(text: str) -> str:
    """``text`` as it reads through ``str.format``."""
    return text.replace("{", "{{").replace("}", "}}")
