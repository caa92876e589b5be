"""The error table of docs/http-api.md is what a running server answers: each row is provoked against
a real ``milkmobs serve`` (waitress' own refusals included), every answer has the error shape, and a
row without a way to provoke it (or a way without a row) fails the test."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from tests.e2e._serve_process import ServerProcess, serve

from milkmobs.api.app import create_api
from milkmobs.api.auth import BearerTokenAuthorizer
from milkmobs.bootstrap import build
from milkmobs.domain import BackendUnavailableError
from milkmobs.server.wsgi import LocalHttpApp
from milkmobs.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "http-api.md"
TOKEN = "error-table-admin-token"
MAX_UPLOAD = 1024 * 1024
_ROW = re.compile(r"^\| (\d{3}) \| `([a-z_]+)` \|")


def documented() -> set[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Errors") : text.index("## Endpoints")]
    return {(int(m.group(1)), m.group(2)) for line in section.splitlines() if (m := _ROW.match(line))}


Answer = tuple[int, dict[str, Any]]


def _answer(response: requests.Response) -> Answer:
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    return response.status_code, response.json()


def _raw(server: ServerProcess, request: bytes) -> Answer:
    """Bytes straight to the socket: what a broken or hostile client sends (waitress answers itself)."""
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), received[:500]
    return status, json.loads(body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"MILKMOBS_HTTP__ADMIN_TOKEN": TOKEN, "MILKMOBS_UPLOADS__MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}
    with serve(tmp_path_factory.mktemp("errors"), backend="memory", env=env) as running:
        yield running


def _submit(server: ServerProcess) -> dict[str, Any]:
    response = requests.post(
        f"{server.url}/videos/submit", json={"userId": "table", "hashtags": ["gotmilk"]}, timeout=30
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _uploaded_video_url(server: ServerProcess, data: bytes | None = None) -> str:
    """Submit and upload a file (its own unless ``data`` is given) as user "table"; its videoUrl."""
    submission = _submit(server)
    upload = submission["upload"]
    body = data if data is not None else b"GOT MILK " * 100 + uuid.uuid4().bytes
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("a.mp4", body)}, timeout=30)
    assert posted.status_code == 204, posted.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        video = requests.get(f"{server.url}/videos/{submission['videoId']}", timeout=30).json()
        if video.get("videoUrl"):
            return str(video["videoUrl"])
        time.sleep(0.1)
    raise AssertionError("the uploaded video never got a videoUrl")


def _in_process(error: Exception) -> Answer:
    """500 and 503 cannot be caused from outside a healthy server: the same WSGI app, with a store that fails."""
    settings = Settings(backend="memory", http={"public_base_url": "http://local"})
    with build(settings) as app:

        def failing(*_args: Any, **_kwargs: Any) -> Any:
            raise error

        app.ports.videos.get = failing  # type: ignore[method-assign]
        api = create_api(lambda: app, authorizer=BearerTokenAuthorizer(TOKEN))
        wsgi = LocalHttpApp(api.resolve, lambda: app, max_upload_bytes=MAX_UPLOAD)
        seen: list[str] = []
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/videos/abc", "QUERY_STRING": "", "wsgi.input": None}
        body = b"".join(wsgi(environ, lambda status, headers: seen.append(status)))
        return int(seen[0].split()[0]), json.loads(body)


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _get(server: ServerProcess, path: str, **options: Any) -> Answer:
    return _answer(requests.get(f"{server.url}{path}", timeout=30, **options))


def _post(server: ServerProcess, path: str, **options: Any) -> Answer:
    return _answer(requests.post(f"{server.url}{path}", timeout=30, **options))


def _conflict(server: ServerProcess) -> Answer:
    return _post(server, "/validate", json={"videoId": _submit(server)["videoId"]})


def _duplicate_content(server: ServerProcess) -> Answer:
    data = b"GOT MILK " * 100 + uuid.uuid4().bytes
    assert _uploaded_video_url(server, data)
    digest = hashlib.sha256(data).hexdigest()
    return _post(server, "/videos/submit", json={"userId": "table", "contentSha256": digest})


def _idempotency_key_reused(server: ServerProcess) -> Answer:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = requests.post(f"{server.url}/videos/submit", json={"userId": "table"}, headers=key, timeout=30)
    assert first.status_code == 201, first.text
    return _post(server, "/videos/submit", json={"userId": "table", "title": "another"}, headers=key)


def _range_past_the_end(server: ServerProcess) -> Answer:
    return _answer(requests.get(_uploaded_video_url(server), headers={"Range": "bytes=999999-"}, timeout=30))


def _headers_too_large(server: ServerProcess) -> Answer:
    return _raw(server, b"GET /feed HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 262_144 + b"\r\n\r\n")


SCENARIOS: dict[tuple[int, str], Callable[[ServerProcess], Answer]] = {
    (400, "invalid_input"): lambda s: _post(s, "/videos/submit", data=b'{"userId": "u"', headers=JSON),
    (401, "unauthorized"): lambda s: _get(s, "/admin/stats"),
    (403, "forbidden"): lambda s: _get(s, "/admin/stats", headers={"Authorization": "Bearer nope"}),
    (404, "not_found"): lambda s: _get(s, "/videos/doesnotexist"),
    (405, "method_not_allowed"): lambda s: _answer(requests.put(f"{s.url}/videos/submit", json={}, timeout=30)),
    (409, "conflict"): _conflict,
    (409, "duplicate_content"): _duplicate_content,
    (409, "idempotency_key_reused"): _idempotency_key_reused,
    (413, "payload_too_large"): lambda s: _post(s, "/videos/submit", json={"userId": "u", "sizeBytes": MAX_UPLOAD + 1}),
    (415, "unsupported_media_type"): lambda s: _post(s, "/videos/submit", data="userId=u", headers=FORM),
    (416, "range_not_satisfiable"): _range_past_the_end,
    (422, "validation_error"): lambda s: _post(s, "/videos/submit", json={"title": "no user"}),
    (431, "headers_too_large"): _headers_too_large,
    (503, "backend_unavailable"): lambda s: _in_process(BackendUnavailableError("the store is down")),
    (500, "internal_error"): lambda s: _in_process(RuntimeError("a bug")),
}


def test_every_documented_status_has_a_scenario_and_every_scenario_a_row() -> None:
    assert documented() == set(SCENARIOS)


@pytest.mark.parametrize(("status", "code"), sorted(SCENARIOS))
def test_the_server_answers_the_documented_status_and_code(server: ServerProcess, status: int, code: str) -> None:
    got_status, body = SCENARIOS[(status, code)](server)
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_waitress_refusals_have_the_error_shape(server: ServerProcess) -> None:
    too_long = f"POST /uploads HTTP/1.1\r\nHost: x\r\nContent-Length: {3 * MAX_UPLOAD}\r\n\r\n".encode()
    assert _raw(server, too_long)[0] == 413
    status, body = _raw(server, b"GET /feed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert status == 400 and body["error"]["code"] == "invalid_input"


def test_hostile_json_is_refused_without_a_traceback(server: ServerProcess) -> None:
    nested = b"[" * 5000 + b"]" * 5000
    answer = _answer(requests.post(f"{server.url}/videos/submit", data=nested, headers=JSON, timeout=30))
    assert answer[0] == 400 and answer[1]["error"]["field"] == "body"
    big = json.dumps({"userId": "u", "title": "x" * 70_000})
    assert _answer(requests.post(f"{server.url}/videos/submit", data=big, headers=JSON, timeout=30))[0] == 413
    assert _answer(requests.get(f"{server.url}/feed", timeout=30))[0] == 200  # still serving
    assert not any("Traceback" in line for line in server.output), "".join(server.output)
