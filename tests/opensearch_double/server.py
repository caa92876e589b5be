"""``OpenSearchTestDouble``: an OpenSearch-compatible HTTP **test double** on 127.0.0.1.

No real OpenSearch can run here (no Docker, no artifact downloads), so the adapter is tested
over real HTTP against this stand-in, built on the stdlib ``http.server``. It serves only the
endpoints ``OpenSearchVectorIndex`` calls and records every request, so tests can also assert
the bodies against the OpenSearch documentation's examples.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.opensearch_double.engine import ApiError, Index, filter_source

_SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
_NAME = r"(?P<index>[a-z0-9][a-z0-9_.\-]*)"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]
    body: Any  # parsed JSON, a list of NDJSON lines for _bulk, or None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names


class _State:
    def __init__(self) -> None:
        self.indices: dict[str, Index] = {}
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()

    def index(self, name: str) -> Index:
        if name not in self.indices:
            raise ApiError(404, "index_not_found_exception", f"no such index [{name}]")
        return self.indices[name]


def _doc_result(index: str, doc_id: str, result: str, version: int) -> dict[str, Any]:
    return {
        "_index": index,
        "_id": doc_id,
        "_version": version,
        "result": result,
        "_shards": _SHARDS,
        "_seq_no": version - 1,
        "_primary_term": 1,
    }


def _route(state: _State, method: str, path: str, body: Any) -> tuple[int, Any]:
    """Dispatch one request; returns (status, JSON answer). Runs under the state lock."""
    if path == "/" and method in {"GET", "HEAD"}:
        return 200, {"name": "opensearch-test-double", "version": {"distribution": "opensearch", "number": "2.19.0"}}
    if m := re.fullmatch(rf"/(?:{_NAME}/)?_bulk", path):
        return _bulk(state, m.group("index"), body)
    if m := re.fullmatch(rf"/{_NAME}", path):
        name = m.group("index")
        if method == "HEAD":
            return (200 if name in state.indices else 404), None
        if method == "PUT":
            if name in state.indices:
                raise ApiError(400, "resource_already_exists_exception", f"index [{name}] already exists")
            state.indices[name] = Index.create(name, body or {})
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}
        if method == "GET":
            idx = state.index(name)
            return 200, {name: {"settings": {"index": idx.settings}, "mappings": idx.mapping()}}
        if method == "DELETE":
            state.index(name)
            del state.indices[name]
            return 200, {"acknowledged": True}
    if (m := re.fullmatch(rf"/{_NAME}/_mapping", path)) and method == "GET":
        idx = state.index(m.group("index"))
        return 200, {idx.name: {"mappings": idx.mapping()}}
    if (m := re.fullmatch(rf"/{_NAME}/_refresh", path)) and method in {"POST", "GET"}:
        state.index(m.group("index"))
        return 200, {"_shards": _SHARDS}
    if (m := re.fullmatch(rf"/{_NAME}/_count", path)) and method in {"POST", "GET"}:
        idx = state.index(m.group("index"))
        return 200, {"count": len(idx.docs), "_shards": _SHARDS}
    if (m := re.fullmatch(rf"/{_NAME}/_search", path)) and method in {"POST", "GET"}:
        idx = state.index(m.group("index"))
        hits = idx.search(body or {})
        source_spec = (body or {}).get("_source")
        return 200, {
            "took": 1,
            "timed_out": False,
            "_shards": _SHARDS,
            "hits": {
                "total": {"value": len(hits), "relation": "eq"},
                "max_score": hits[0][1] if hits else None,
                "hits": [
                    {
                        "_index": idx.name,
                        "_id": doc_id,
                        "_score": score,
                        **({"_source": s} if (s := filter_source(idx.docs[doc_id], source_spec)) is not None else {}),
                    }
                    for doc_id, score in hits
                ],
            },
        }
    if m := re.fullmatch(rf"/{_NAME}/_doc/(?P<id>[^/]+)", path):
        idx, doc_id = state.index(m.group("index")), m.group("id")
        if method in {"PUT", "POST"}:
            result = idx.put(doc_id, body)
            return (201 if result == "created" else 200), _doc_result(idx.name, doc_id, result, idx.versions[doc_id])
        if method == "GET":
            if doc_id not in idx.docs:
                return 404, {"_index": idx.name, "_id": doc_id, "found": False}
            return 200, {
                "_index": idx.name,
                "_id": doc_id,
                "_version": idx.versions[doc_id],
                "found": True,
                "_source": idx.docs[doc_id],
            }
        if method == "DELETE":
            if doc_id not in idx.docs:
                return 404, _doc_result(idx.name, doc_id, "not_found", idx.versions.get(doc_id, 0) + 1)
            del idx.docs[doc_id]
            idx.versions[doc_id] += 1
            return 200, _doc_result(idx.name, doc_id, "deleted", idx.versions[doc_id])
    raise ApiError(400, "illegal_argument_exception", f"{method} {path} is not implemented by the test double")


def _bulk(state: _State, default_index: str | None, lines: list[Any]) -> tuple[int, Any]:
    items: list[dict[str, Any]] = []
    position = 0
    while position < len(lines):
        action = lines[position]
        ((op, meta),) = action.items()
        if op not in {"index", "delete"}:
            raise ApiError(400, "illegal_argument_exception", f"bulk action {op} not implemented by the test double")
        name, doc_id = meta.get("_index", default_index), str(meta["_id"])
        source = lines[position + 1] if op == "index" else None
        position += 2 if op == "index" else 1
        try:
            idx = state.index(name)
            if op == "index":
                result = idx.put(doc_id, source)
                status = 201 if result == "created" else 200
            else:
                result = "deleted" if idx.docs.pop(doc_id, None) is not None else "not_found"
                status = 200 if result == "deleted" else 404
            items.append({op: {"_index": name, "_id": doc_id, "status": status, "result": result}})
        except ApiError as exc:
            error = {"type": exc.kind, "reason": exc.reason}
            items.append({op: {"_index": name, "_id": doc_id, "status": exc.status, "error": error}})
    return 200, {"took": 1, "errors": any("error" in next(iter(i.values())) for i in items), "items": items}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            if url.path.endswith("/_bulk"):
                body: Any = [json.loads(line) for line in raw.splitlines() if line.strip()]
            else:
                body = json.loads(raw) if raw else None
        except json.JSONDecodeError as exc:
            self._send(400, ApiError(400, "json_parse_exception", str(exc)).body())
            return
        state = self.server.state
        with state.lock:
            headers = {name.lower(): value for name, value in self.headers.items()}
            state.requests.append(RecordedRequest(self.command, url.path, dict(parse_qsl(url.query)), body, headers))
            try:
                status, answer = _route(state, self.command, url.path, body)
            except ApiError as exc:
                status, answer = exc.status, exc.body()
        self._send(status, answer)

    def _send(self, status: int, answer: Any) -> None:
        payload = b"" if answer is None or self.command == "HEAD" else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = _State()


class OpenSearchTestDouble:
    """Start with ``with OpenSearchTestDouble() as double:``; ``double.url`` is where it listens."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="opensearch-double", daemon=True
        )

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._server.state.requests

    def __enter__(self) -> OpenSearchTestDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
