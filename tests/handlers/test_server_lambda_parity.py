"""``milkmobs serve`` and the API Lambdas give the same answers to the same requests (one route table).

One local-backend application (fixed clock, so signed URLs agree) is both the Lambda container's
application and the server's. Each request goes to its Lambda entry module as a real API Gateway event
and to the server's WSGI application (page cache, access log and all) as a plain HTTP request — twice,
so the cached answer is compared too — and again after writes, so a stale cached page shows up.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from tests.handlers.conftest import ADMIN_TOKEN, LambdaContext, api_event

from milkmobs.adapters.local.factory import DATABASE_FILE
from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.adapters.local.vector_index import PersistedVectorIndex
from milkmobs.adapters.memory import FakeAnalyzer, FakeMediaProcessor, FixedClock
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest
from milkmobs.lambdas import (
    _runtime,
    admin_delete_video,
    admin_get_stats,
    admin_list_videos,
    get_execution_history,
    get_feed,
    get_mob,
    get_video_detail,
    list_mobs,
    list_user_videos,
    search_similar,
    validate_video,
)
from milkmobs.server.access_log import AccessLog
from milkmobs.server.shared_pages import SharedPages
from milkmobs.server.wsgi import build_wsgi_app
from milkmobs.settings import Backend, Settings

Request = tuple[ModuleType, str, str, dict[str, str], dict[str, str]]  # handler, method, path, query, headers


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        backend=Backend.LOCAL,
        local={"data_dir": tmp_path / "data"},
        http={"admin_token": ADMIN_TOKEN, "public_base_url": "http://testserver"},
        models={"embedding_dimension": 32},
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[MilkMobs, Any, io.StringIO]]:
    settings = _settings(tmp_path)
    app = build(
        settings,
        clock=FixedClock(),  # signed URLs carry the time: both sides sign the same
        retry_interval_scale=0,
        wait_scale=0,
        analyzer=lambda adapters: FakeAnalyzer(adapters.media, dimension=32),
        media_processor=lambda adapters: FakeMediaProcessor(adapters.media),
    )
    for i in range(6):
        entry = i % 3 != 2
        tags = ["gotmilk", "milkmob"] if entry else ["cats"]
        sub = app.submit_video(SubmitRequest(user_id=f"user{i % 2}", title=f"clip {i}", hashtags=tags))
        app.upload_video(sub.video_id, (b"GOT MILK drinking milk " if entry else b"a cat asleep ") + bytes([i]) * 64)
    db = SQLiteDatabase(Path(settings.local.data_dir) / DATABASE_FILE)
    index = app.ports.index
    assert isinstance(index, PersistedVectorIndex)
    log = io.StringIO()
    wsgi = AccessLog(
        build_wsgi_app(app, settings, token=ADMIN_TOKEN, data_version=lambda: (db.data_version(), index.version())),
        log,
        secrets=[ADMIN_TOKEN],
    )
    _runtime.install(app, settings_override=settings)
    try:
        yield app, wsgi, log
    finally:
        _runtime.install(None)
        db.close()
        app.close()


def _lambda(handler: ModuleType, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
    answer = handler.handler(api_event(method, path, query=query or None, headers=headers), LambdaContext())
    content_type = (answer.get("headers") or {}).get("Content-Type") or answer["multiValueHeaders"]["Content-Type"][0]
    return answer["statusCode"], content_type, json.loads(answer["body"])


def _server(wsgi: Any, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": urlencode(query),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(),
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }
    started: list[Any] = []
    body = b"".join(wsgi(environ, lambda status, out, exc_info=None: started.append((status, out))))
    status, out = started[0]
    return int(status[:3]), dict(out)["Content-Type"], json.loads(body)


def _requests(app: MilkMobs) -> list[Request]:
    feed = app.feed(limit=2)
    video_id = feed.items[0].video_id
    mob_id = app.list_mobs()[0].mob_id
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return [
        (get_feed, "GET", "/feed", {"limit": "2"}, {}),
        (get_feed, "GET", "/feed", {"limit": "2", "cursor": feed.next_cursor or ""}, {}),
        (get_feed, "GET", "/videos/feed", {"mobId": mob_id}, {}),
        (get_feed, "GET", "/feed", {"cursor": "forged"}, {}),
        (get_feed, "GET", "/feed", {"limit": "0"}, {}),
        (list_mobs, "GET", "/mobs", {}, {}),
        (get_mob, "GET", f"/mobs/{mob_id}", {"limit": "1"}, {}),
        (get_mob, "GET", "/mobs/nosuchmob", {}, {}),
        (get_video_detail, "GET", f"/videos/{video_id}", {}, {}),
        (get_video_detail, "GET", "/videos/nosuchvideo", {}, {}),
        (list_user_videos, "GET", "/videos/user", {"userId": "user0", "limit": "2"}, {}),
        (search_similar, "GET", "/search/similar", {"videoId": video_id, "limit": "3"}, {}),
        (search_similar, "GET", "/search/similar", {"videoId": "not an id"}, {}),
        (validate_video, "GET", f"/validate/{video_id}", {}, {}),
        (get_execution_history, "GET", "/execution-history", {"videoId": video_id}, {}),
        (admin_get_stats, "GET", "/admin/stats", {}, {}),
        (admin_get_stats, "GET", "/admin/stats", {}, admin),
        (admin_list_videos, "GET", "/admin/videos", {"status": "validated"}, admin),
    ]


def _same_answers(app: MilkMobs, wsgi: Any) -> None:
    for handler, method, path, query, headers in _requests(app):
        expected = _lambda(handler, method, path, query, headers)
        assert _server(wsgi, method, path, query, headers) == expected, (path, query)
        assert _server(wsgi, method, path, query, headers) == expected, ("again (page cache)", path, query)


def test_the_server_answers_as_the_lambdas_do_also_from_its_cache_and_after_writes(served: Any) -> None:
    app, wsgi, log = served
    _same_answers(app, wsgi)
    # Writes through either side: every later answer still agrees (no cached page outlives a change).
    victim = app.feed(limit=1).items[0].video_id
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert _server(wsgi, "DELETE", f"/admin/videos/{victim}", {}, admin)[0] == 200
    _same_answers(app, wsgi)
    gone = _lambda(admin_delete_video, "DELETE", f"/admin/videos/{app.feed(limit=1).items[0].video_id}", {}, admin)
    assert gone[0] == 200
    _same_answers(app, wsgi)
    # One access-log line per server request, and the admin token in none of them.
    lines = log.getvalue().splitlines()
    assert len(lines) == 3 * 2 * len(_requests(app)) + 1
    assert all(ADMIN_TOKEN not in line for line in lines)
    assert any('"GET /admin/stats" 200 ' in line for line in lines)


def test_conditional_gets_answer_304_until_the_data_changes(served: Any) -> None:
    app, wsgi, _ = served
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/mobs",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(),
    }
    seen: list[Any] = []

    def get(**headers: str) -> tuple[str, dict[str, str], bytes]:
        extra = {"HTTP_" + name.upper(): value for name, value in headers.items()}
        body = b"".join(wsgi({**environ, **extra}, lambda status, out, exc_info=None: seen.append((status, out))))
        return seen[-1][0], dict(seen[-1][1]), body

    status, headers, body = get()
    assert status.startswith("200") and headers["Cache-Control"] == "no-cache"
    etag = headers["ETag"]
    status, headers, body = get(if_none_match=etag)
    assert status.startswith("304") and body == b"" and headers["ETag"] == etag
    app.delete_video(app.feed(limit=1).items[0].video_id)  # the mob's count drops
    status, headers, body = get(if_none_match=etag)
    assert status.startswith("200") and headers["ETag"] != etag and json.loads(body)["mobs"]


def test_workers_sharing_pages_answer_as_the_lambdas_do_also_after_writes(served: Any, tmp_path: Path) -> None:
    """Two workers' applications over one shared page file: a page one computed and shared is what the
    other answers, and a write through either makes neither answer the old page."""
    app, _, _ = served
    settings = _settings(tmp_path)
    db = SQLiteDatabase(Path(settings.local.data_dir) / DATABASE_FILE)
    index = app.ports.index
    assert isinstance(index, PersistedVectorIndex)
    memory = SharedPages(writers=2)
    shared = [memory.writer(0), memory.writer(1)]  # one memory, a ring each, as two workers have
    workers = [
        build_wsgi_app(
            app,
            settings,
            token=ADMIN_TOKEN,
            data_version=lambda: (db.data_version(), index.version()),
            shared_pages=pages,
        )
        for pages in shared
    ]
    try:
        for _ in range(2):
            for handler, method, path, query, headers in _requests(app):
                expected = _lambda(handler, method, path, query, headers)
                for worker in workers:
                    assert _server(worker, method, path, query, headers) == expected, (path, query)
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            victim = app.feed(limit=1).items[0].video_id
            assert _server(workers[0], "DELETE", f"/admin/videos/{victim}", {}, admin)[0] == 200
        assert shared[0].count() > 0  # the pages were shared, not only kept by each worker
    finally:
        for pages in shared:
            pages.close()
        db.close()
