"""Hot pages of the public read routes, answered before the resolver, and conditional GETs.

An entry is the route table's own answer (status 200 only), kept with the data version it was made
at: a number that every write changes, whichever process made it (``data_version``). A request is
answered from the entry while the version is unchanged and the entry is younger than ``max_age``
(the answers hold signed media URLs that expire; an entry never outlives a small part of their
life). Each entry carries an ``ETag``; a client sending it back in ``If-None-Match`` gets ``304``.

Only the answers of public GET routes whose content is the stored data are kept; admin routes,
execution history and every error are always computed.

With ``shared`` (``shared_pages.py``), a page missing here is looked up among the pages the other
workers computed before it is computed, and a computed page is shared with them.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from milkmobs.server.shared_pages import SharedPages

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Answer = tuple[int, list[tuple[str, str]], bytes]
CurrentPage = tuple[str, list[tuple[str, str]], bytes]  # status line, headers, body

CACHED_ROUTES = re.compile(
    r"^/(?:feed|videos/feed|mobs|mobs/[^/]+|videos/(?!submit$)[^/]+|search/similar|validate/[^/]+|openapi\.json)$"
)


class _Entry(NamedTuple):  # a tuple: made on every computed page, where a frozen dataclass cost a microsecond
    version: Hashable
    made_at: float
    headers: list[tuple[str, str]]
    body: bytes
    etag: str


class PageCache:
    """A bounded LRU of answers, each valid for one data version (see the module docstring)."""

    def __init__(
        self,
        data_version: Callable[[], Hashable],
        *,
        max_age_seconds: float = 30.0,
        max_entries: int = 4096,
        max_bytes: int = 64 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
        shared: SharedPages | None = None,
    ) -> None:
        self.data_version = data_version
        self._max_age = max_age_seconds
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self._shared = shared
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}  # one computation per key at a time
        self._dotted_last: tuple[Hashable, str] = (None, "")

    @staticmethod
    def handles(path: str) -> bool:
        """Whether answers of ``path`` may be kept (a public read route of the API)."""
        return CACHED_ROUTES.match(path) is not None

    def answer(
        self, environ: dict[str, Any], start_response: StartResponse, path: str, compute: Callable[[], Answer]
    ) -> list[bytes]:
        """Answer a GET: from the entry when it is current, else from ``compute`` (kept if 200)."""
        if not self.handles(path):
            return _send(start_response, *compute())
        key = (path, str(environ.get("QUERY_STRING", "")), str(environ.get("HTTP_ORIGIN", "")))
        page = self._page(key, compute, wait=True)
        assert page is not None  # waiting, and ``compute`` always answers
        if not isinstance(page, _Entry):
            return _send(start_response, *page)
        line, answer_headers, answer = _conditional(page, str(environ.get("HTTP_IF_NONE_MATCH", "")))
        start_response(line, answer_headers)
        return [answer] if answer else []

    def answer_now(
        self, path: str, query: str, origin: str, if_none_match: str, compute: Callable[[], Answer | None]
    ) -> CurrentPage | None:
        """The answer of a GET of a kept route without waiting: the current entry, else the shared page,
        else ``compute``'s answer (kept if 200). None when it would have to wait: another thread is
        computing that page, or ``compute`` said so by answering None."""
        if not self.handles(path):
            return None
        page = self._page((path, query, origin), compute, wait=False)
        if page is None or isinstance(page, _Entry):
            return None if page is None else _conditional(page, if_none_match)
        status, headers, body = page
        from http import HTTPStatus

        return f"{status} {HTTPStatus(status).phrase}", headers, body

    def current(self, path: str, query: str, origin: str, if_none_match: str = "") -> CurrentPage | None:
        """The answer from the page kept for this request if it is current (never computes, never reads
        the shared pages): status line, headers, body (``304`` when ``if_none_match`` names it)."""
        if not self.handles(path):
            return None
        entry = self._current((path, query, origin), self.data_version())
        return None if entry is None else _conditional(entry, if_none_match)

    def _page(
        self, key: tuple[str, str, str], compute: Callable[[], Answer | None], *, wait: bool
    ) -> _Entry | Answer | None:
        """The current entry of ``key``, else the shared page, else ``compute``'s answer (an entry when
        it is a 200, kept and shared). ``wait``: for another thread computing the same page (else None)."""
        version = self.data_version()  # read before computing: an entry is never labelled newer than it is
        entry = self._current(key, version)
        if entry is not None:
            return entry
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        if not gate.acquire(blocking=wait):  # concurrent misses of one page wait for the first
            return None
        try:
            entry = self._current(key, version) or self._from_shared(key, version)
            if entry is not None:
                return entry
            answer = compute()
            if answer is None or answer[0] != 200:
                return answer
            _, headers, body = answer
            entry = self._store(key, version, headers, body, self._clock())
            if self._shared is not None:  # with its ETag: the others keep it as it is
                self._shared.put(_shared_key(key), self._dotted(version), entry.made_at, entry.headers, body)
            return entry
        finally:
            gate.release()
            with self._lock:
                if self._computing.get(key) is gate:
                    del self._computing[key]

    def _from_shared(self, key: tuple[str, str, str], version: Hashable) -> _Entry | None:
        if self._shared is None:
            return None
        page = self._shared.get(_shared_key(key), self._dotted(version), self._max_age)
        if page is None:
            return None
        headers = page.headers
        if len(headers) < 3 or headers[-3][0] != "ETag":  # not an entry's headers (``_store`` ends them so)
            return self._store(key, version, headers, page.body, page.made_at)
        return self._keep(key, _Entry(version, page.made_at, headers, page.body, headers[-3][1]))

    def _dotted(self, version: Hashable) -> str:
        """``dotted_version(version)``, made once per version (every computed page needs it twice)."""
        known, text = self._dotted_last
        if known != version:
            text = dotted_version(version)
            self._dotted_last = (version, text)
        return text

    def _current(self, key: Hashable, version: Hashable) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.version != version or not 0 <= self._clock() - entry.made_at <= self._max_age:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def _store(
        self, key: Hashable, version: Hashable, headers: list[tuple[str, str]], body: bytes, made_at: float
    ) -> _Entry:
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        kept = [(k, v) for k, v in headers if k.lower() not in ("etag", "cache-control", "content-length")]
        # In this order: ``_from_shared`` finds the ETag of a shared entry third from the end.
        kept += [("ETag", etag), ("Cache-Control", "no-cache"), ("Content-Length", str(len(body)))]
        return self._keep(key, _Entry(version, made_at, kept, body, etag))

    def _keep(self, key: Hashable, entry: _Entry) -> _Entry:
        if len(entry.body) > self._max_bytes // 8:  # one huge page must not empty the cache
            return entry
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += len(entry.body)
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                self._drop(next(iter(self._entries)))
        return entry

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)


def _shared_key(key: tuple[str, str, str]) -> str:
    return "\x00".join(key)


def dotted_version(version: Hashable) -> str:
    """The data version as text (a tuple's parts joined by dots)."""
    return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)


def _conditional(entry: _Entry, if_none_match: str) -> CurrentPage:
    """``304`` (no body) when ``If-None-Match`` names the entry's ETag, else the page."""
    if if_none_match and entry.etag in _etags(if_none_match):
        return "304 Not Modified", [("ETag", entry.etag), ("Cache-Control", "no-cache")], b""
    return "200 OK", entry.headers, entry.body


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _send(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    from http import HTTPStatus

    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]
