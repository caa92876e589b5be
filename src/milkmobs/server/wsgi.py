"""The local server's WSGI application: the shared route table, plus the two routes S3 plays in AWS.

- ``POST /uploads``: the presigned-form target, answered by ``server.uploads`` (policy checked
  before the file is read, file streamed to disk, nothing stored on error).
- ``GET /media/<key>``: signed read URLs (videos, thumbnails), with single byte ranges for players.
- the web pages (``static.py``): ``/`` consumer app, ``/admin/`` dashboard, ``/config.json``.
- ``GET /healthz``: this process answers (and reads its data).
- everything else: translated to an API Gateway REST event and answered by the route table; public
  GETs go through the page cache first (``server/page_cache.py``), which only keeps the route
  table's own answers.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from waitress.proxy_headers import PROXY_HEADERS  # type: ignore[import-untyped]

from milkmobs.api.errors import status_for
from milkmobs.core.service import MilkMobs
from milkmobs.domain import MilkmobsError, NotFoundError
from milkmobs.ports import ServedMediaStore
from milkmobs.server.events import from_response, to_event
from milkmobs.server.fifo_lock import FifoLock
from milkmobs.server.page_cache import CurrentPage, PageCache, dotted_version
from milkmobs.server.static import web_pages
from milkmobs.server.uploads import FORM_OVERHEAD_BYTES, UploadEndpoint, content_length

if TYPE_CHECKING:
    from milkmobs.api.direct import DirectGets
    from milkmobs.server.shared_pages import SharedPages
    from milkmobs.settings import Settings

logger = logging.getLogger("milkmobs.server")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Resolve = Callable[[dict[str, Any], Any], dict[str, Any]]
__all__ = ["FORM_OVERHEAD_BYTES", "LocalHttpApp"]
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def _json_error(
    start_response: StartResponse, status: int, code: str, message: str, headers: Sequence[tuple[str, str]] = ()
) -> list[bytes]:
    import json

    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    length = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(_status_line(status), [*length, *headers])
    return [body]


class LocalHttpApp:
    """WSGI app for ``milkmobs serve``. ``resolve`` is the route table's ``resolve`` (serialised here:
    Powertools keeps the current request on class attributes, so parallel calls would mix requests);
    ``direct`` answers plain GETs of the kept routes from the same route table without it, where it can."""

    def __init__(
        self,
        resolve: Resolve,
        app: Callable[[], MilkMobs],
        *,
        max_upload_bytes: int,
        cors_origins: Sequence[str] = (),
        page_cache: PageCache | None = None,
        direct: DirectGets | None = None,
    ) -> None:
        self._resolve = resolve
        self._direct = direct
        self._cache = page_cache
        self._cors_origins = frozenset(cors_origins)
        self._app = app
        self._upload = UploadEndpoint(app, max_upload_bytes=max_upload_bytes)
        self._resolve_lock = FifoLock()  # arrival order: no request waits many turns

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        # PEP 3333 hands PATH_INFO over as latin-1-decoded bytes.
        path = str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8", "replace") or "/"
        if path == "/uploads" or path.startswith("/media/"):
            # S3's part: its bucket CORS rules let browsers post the form and play the media.
            start_response = self._with_cors(environ, start_response)
            if method == "OPTIONS":
                start_response(
                    "204 No Content",
                    [
                        ("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"),
                        ("Access-Control-Allow-Headers", "Content-Type, Range"),
                        ("Access-Control-Max-Age", "600"),
                    ],
                )
                return []
        try:
            if path == "/healthz" and method in ("GET", "HEAD"):
                return self._health(start_response)
            if path == "/uploads" and method == "POST":
                return self._upload(environ, start_response)
            if path.startswith("/media/") and method in ("GET", "HEAD"):
                return self._media(environ, start_response, unquote(path[len("/media/") :]), method)
            if self._cache is not None and method == "GET" and self._cache.handles(path):
                return self._api(environ, start_response, method, path)  # an API route: no file lookup
            if (page := web_pages.answer(environ, start_response, method, path)) is not None:
                return page
            return self._api(environ, start_response, method, path)
        except MilkmobsError as exc:
            return _json_error(start_response, int(status_for(exc)), exc.code, exc.message)
        except Exception:
            logger.exception("unhandled error in %s %s", method, path)
            return _json_error(start_response, 500, "internal_error", "internal error; see the server log")

    @property
    def page_cache(self) -> PageCache | None:
        """The cache of hot pages, when this application keeps one."""
        return self._cache

    def _with_cors(self, environ: dict[str, Any], start_response: StartResponse) -> StartResponse:
        origin = str(environ.get("HTTP_ORIGIN", ""))
        if not origin or not (origin in self._cors_origins or "*" in self._cors_origins):
            return start_response
        allow = "*" if "*" in self._cors_origins else origin

        def start(status: str, headers: list[tuple[str, str]]) -> Any:
            return start_response(status, [*headers, ("Access-Control-Allow-Origin", allow), ("Vary", "Origin")])

        return start

    # -- the route table -------------------------------------------------------------------

    def _api(self, environ: dict[str, Any], start_response: StartResponse, method: str, path: str) -> list[bytes]:
        if self._cache is not None and method == "GET":
            return self._cache.answer(environ, start_response, path, lambda: self._resolved(environ, method, path))
        status, out_headers, payload = self._resolved(environ, method, path)
        start_response(_status_line(status), out_headers)
        return [payload]

    def _resolved(self, environ: dict[str, Any], method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """The route table's answer: status, headers, body."""
        headers = [(k[5:], str(v)) for k, v in environ.items() if k.startswith("HTTP_")]
        headers += [(k, str(environ[k])) for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(k)]
        body = self._read_body(environ, limit=10 * 1024 * 1024)  # API Gateway's own payload limit
        query = str(environ.get("QUERY_STRING", ""))
        if method == "GET" and not body and PageCache.handles(path):
            direct = self._direct_answer(path, query, origin=any(name == "ORIGIN" for name, _ in headers))
            if direct is not None:
                return direct
        event = _event(method, path, query, headers, body, environ.get("REMOTE_ADDR"))
        with self._resolve_lock:
            answer = self._resolve(event, None)
        return from_response(answer)

    def answer_now(self, path: str, query: str, headers: Mapping[str, str], client: str) -> CurrentPage | None:
        """The answer of a plain GET (no body) of a kept route, computed right away in the calling thread
        if nothing has to be waited for, else None (then it goes the usual way). ``headers`` as waitress'
        parser keeps them (``IF_NONE_MATCH``), untrusted proxy headers included: dropped here, as
        waitress drops them before the WSGI application.

        For waitress' I/O thread (``hot_answers.py``): the route table or that page busy in a request
        thread is never waited for."""
        cache = self._cache
        if cache is None:
            return None

        def compute() -> tuple[int, list[tuple[str, str]], bytes] | None:  # only for a page not kept
            # A kept route: the cache computes only those.
            if (direct := self._direct_answer(path, query, origin="ORIGIN" in headers)) is not None:
                return direct
            kept = [(name, value) for name, value in headers.items() if name not in PROXY_HEADERS]
            event = _event("GET", path, query, kept, b"", client)
            if not self._resolve_lock.try_acquire():
                return None
            try:
                resolved = self._resolve(event, None)
            finally:
                self._resolve_lock.release()
            return from_response(resolved)

        page = cache.answer_now(path, query, headers.get("ORIGIN", ""), headers.get("IF_NONE_MATCH", ""), compute)
        if page is None or page[0].startswith(("200 ", "304 ")):
            return page
        status, answer_headers, body = page  # an error: not kept, so its length is not set yet
        length = [(k, v) for k, v in answer_headers if k.lower() != "content-length"]
        return status, [*length, ("Content-Length", str(len(body)))], body

    def _direct_answer(self, path: str, query: str, *, origin: bool) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The route table's answer to a plain GET of a kept route (``PageCache.handles``: the caller
        knows it is one) without the resolver, if it can be given so (``api/direct.py``): the kept
        routes only read the stored data. ``origin``: whether the request has an ``Origin`` header."""
        return None if self._direct is None else self._direct.answer(path, query, origin=origin)

    def _health(self, start_response: StartResponse) -> list[bytes]:
        import json
        import os

        self._app()  # 503 while the application is not built
        # Reading the data version proves this process can read its data (an error answers 503).
        version = dotted_version(self._cache.data_version()) if self._cache is not None else None
        body = json.dumps({"status": "ok", "pid": os.getpid(), "dataVersion": version}).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")],
        )
        return [body]

    @staticmethod
    def _read_body(environ: dict[str, Any], *, limit: int) -> bytes:
        length = content_length(environ, limit=limit)
        return bytes(environ["wsgi.input"].read(length)) if length > 0 else b""

    # -- what S3 does in AWS -----------------------------------------------------------------

    def _served_store(self) -> ServedMediaStore:
        store = self._app().ports.media
        if not isinstance(store, ServedMediaStore):
            raise NotFoundError("this backend's media store serves its own uploads and reads (S3): not served here")
        return store

    def _media(self, environ: dict[str, Any], start_response: StartResponse, key: str, method: str) -> list[bytes]:
        store = self._served_store()
        params: Mapping[str, str] = dict(parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True))
        data = store.open_signed(key, params)
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        headers = [("Content-Type", content_type), ("Accept-Ranges", "bytes"), ("Cache-Control", "private, max-age=60")]
        status, body = 200, data
        match = _RANGE.match(str(environ.get("HTTP_RANGE", "")).strip())
        if match and (match.group(1) or match.group(2)):
            start_s, end_s = match.groups()
            size = len(data)
            start = int(start_s) if start_s else max(size - int(end_s), 0)
            end = min(int(end_s), size - 1) if start_s and end_s else size - 1
            if start >= size or start > end:
                message = f"{key} is {size} bytes; the requested range starts past its end"
                return _json_error(
                    start_response, 416, "range_not_satisfiable", message, [("Content-Range", f"bytes */{size}")]
                )
            status, body = 206, data[start : end + 1]
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), headers)
        return [] if method == "HEAD" else [body]


def _event(
    method: str, path: str, query: str, headers: Iterable[tuple[str, str]], body: bytes, client: object
) -> dict[str, Any]:
    """The route table's event for a request; ``headers`` named as in WSGI without ``HTTP_``
    (``USER_AGENT``)."""
    return to_event(
        method,
        path,
        query,
        [(name.replace("_", "-"), value) for name, value in headers],
        body,
        source_ip=str(client or "127.0.0.1"),
    )


def build_wsgi_app(
    app: MilkMobs,
    settings: Settings,
    *,
    token: str,
    swagger: bool = True,
    data_version: Callable[[], Hashable] | None = None,
    shared_pages: SharedPages | None = None,
) -> LocalHttpApp:
    """``milkmobs serve``'s WSGI application over ``app``: the shared route table (with a bearer-token
    admin), S3's two routes, and the page cache when ``data_version`` says when the data changed
    (with ``shared_pages``: shared with the other workers)."""
    from milkmobs.api.app import create_api
    from milkmobs.api.auth import BearerTokenAuthorizer
    from milkmobs.api.direct import DirectGets

    api = create_api(
        lambda: app, authorizer=BearerTokenAuthorizer(token), cors_origins=settings.http.cors_origins, swagger=swagger
    )
    cache = None
    if data_version is not None:
        cache = PageCache(
            data_version, max_age_seconds=min(30, settings.uploads.read_url_expires_seconds // 4), shared=shared_pages
        )
    return LocalHttpApp(
        api.resolve,
        lambda: app,
        max_upload_bytes=settings.uploads.max_upload_bytes,
        cors_origins=settings.http.cors_origins,
        page_cache=cache,
        direct=DirectGets(api),
    )
