"""The web pages as the local server serves them: types, caching, config.json, and nothing else leaks."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from milkmobs.api.app import create_api
from milkmobs.api.auth import BearerTokenAuthorizer
from milkmobs.bootstrap import build
from milkmobs.server.static import WEB_ROOT
from milkmobs.server.wsgi import LocalHttpApp
from milkmobs.settings import Settings


@pytest.fixture
def wsgi() -> Iterator[LocalHttpApp]:
    with build(Settings(backend="memory"), retry_interval_scale=0, wait_scale=0) as app:
        api = create_api(lambda: app, authorizer=BearerTokenAuthorizer("t"))
        yield LocalHttpApp(api.resolve, lambda: app, max_upload_bytes=1000)


def _get(wsgi: LocalHttpApp, path: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "HTTP_HOST": "127.0.0.1:5555",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        **{"HTTP_" + k.upper(): v for k, v in headers.items()},
    }
    body = b"".join(wsgi(environ, start_response))
    return seen["status"], seen["headers"], body


def test_the_consumer_app_is_at_the_root(wsgi: LocalHttpApp) -> None:
    status, headers, body = _get(wsgi, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="consumer/main.js">' in body
    assert headers["Cache-Control"] == "no-cache" and headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in headers["Content-Security-Policy"]  # pages run only this server's own files


def _module_graph(wsgi: LocalHttpApp, entry: str) -> set[str]:
    """Every module reachable from ``entry`` by static imports, each checked as served JavaScript."""
    pending, seen = [entry], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        status, headers, body = _get(wsgi, path)
        assert status == 200, path
        assert headers["Content-Type"] == "text/javascript; charset=utf-8", path
        base = path.rsplit("/", 1)[0]
        for target in re.findall(rb"""from\s+['"](\.[^'"]+)['"]""", body):
            parts = [*base.split("/"), *target.decode().split("/")]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part not in (".", ""):
                    resolved.append(part)
            pending.append("/" + "/".join(resolved))
    return seen


def test_every_module_the_consumer_imports_is_served_and_preloaded(wsgi: LocalHttpApp) -> None:
    """A missing file or a wrong type fails; index.html preloads exactly the modules main.js pulls in
    (else the browser discovers them level by level)."""
    graph = _module_graph(wsgi, "/consumer/main.js")
    assert "/shared/api.js" in graph and "/vendor/htm-3.1.1-preact-standalone.module.js" in graph
    _, _, page = _get(wsgi, "/")
    preloaded = {"/" + href.decode() for href in re.findall(rb'rel="modulepreload" href="([^"]+)"', page)}
    assert preloaded == graph - {"/consumer/main.js"}


def test_every_module_the_admin_dashboard_imports_is_served_and_preloaded(wsgi: LocalHttpApp) -> None:
    graph = _module_graph(wsgi, "/admin/main.js")
    assert "/vendor/uPlot-1.6.32.esm.js" in graph and "/admin/auth.js" in graph
    status, headers, page = _get(wsgi, "/admin/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="main.js">' in page
    hrefs = re.findall(rb'rel="modulepreload" href="([^"]+)"', page)
    preloaded = {str(PurePosixPath("/admin") / href.decode()).replace("/admin/../", "/") for href in hrefs}
    assert preloaded == graph - {"/admin/main.js"}


def test_versioned_vendor_files_are_cached_and_the_rest_revalidated(wsgi: LocalHttpApp) -> None:
    _, vendor, _ = _get(wsgi, "/vendor/htm-3.1.1-preact-standalone.module.js")
    assert vendor["Cache-Control"] == "public, max-age=31536000, immutable"
    status, css, _ = _get(wsgi, "/shared/style.css")
    assert status == 200 and css["Content-Type"] == "text/css; charset=utf-8" and css["Cache-Control"] == "no-cache"
    again, headers, body = _get(wsgi, "/shared/style.css", if_none_match=css["ETag"])
    assert again == 304 and body == b"" and headers["ETag"] == css["ETag"]
    head, headers, body = _get(wsgi, "/shared/style.css", method="HEAD")
    assert head == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_config_json_points_at_the_server_itself(wsgi: LocalHttpApp) -> None:
    status, headers, body = _get(wsgi, "/config.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"apiUrl": "http://127.0.0.1:5555"}


def test_admin_without_slash_redirects(wsgi: LocalHttpApp) -> None:
    status, headers, _ = _get(wsgi, "/admin")
    assert status == 308 and headers["Location"] == "/admin/"


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/vendor/../../server/static.py",
        "/vendor/uPlot-1.6.32.esm.d.ts",
        "/nope.js",
        "/.hidden.js",
    ],
)
def test_anything_else_falls_through_to_the_api_json_404(wsgi: LocalHttpApp, path: str) -> None:
    status, headers, body = _get(wsgi, path)
    assert status == 404 and headers["Content-Type"].startswith("application/json"), (path, body)
    assert "error" in json.loads(body)


def test_api_routes_still_answer(wsgi: LocalHttpApp) -> None:
    status, _, body = _get(wsgi, "/feed")
    assert status == 200 and json.loads(body)["videos"] == []


def test_the_served_folder_holds_only_files_it_may_serve() -> None:
    """The wheel carries the served files only: type declarations live beside them for the type checks."""
    kinds = {p.suffix for p in Path(WEB_ROOT).rglob("*") if p.is_file() and not p.name.endswith(".d.ts")}
    assert kinds <= {".html", ".js", ".css", ".svg", ".png", ".ico", ".txt"}, kinds


#: Vendored file → (npm package, path inside it). The header line names the package at its pinned version.
VENDORED = {
    "src/milkmobs/web/vendor/htm-3.1.1-preact-standalone.module.js": ("htm", "preact/standalone.module.js"),
    "src/milkmobs/web/vendor/uPlot-1.6.32.esm.js": ("uplot", "dist/uPlot.esm.js"),
    "src/milkmobs/web/vendor/uPlot-1.6.32.min.css": ("uplot", "dist/uPlot.min.css"),
    "tests/browser/vendor/axe.min.js": ("axe-core", "axe.min.js"),
}


@pytest.mark.parametrize("vendored", sorted(VENDORED))
def test_vendored_files_are_the_pinned_npm_files_with_a_version_header(vendored: str) -> None:
    repo = Path(__file__).resolve().parents[2]
    package, inner = VENDORED[vendored]
    version = json.loads((repo / "package.json").read_text(encoding="utf-8"))["devDependencies"][package]
    header, _, body = (repo / vendored).read_text(encoding="utf-8").partition("*/\n")  # our comment, then theirs
    assert f"{package}@{version}" in header and "License" in header, header
    original = repo / "node_modules" / package / inner
    if original.is_file():  # after `npm ci` (make lint): byte for byte what the package ships
        assert body == original.read_text(encoding="utf-8"), f"{vendored} differs from {package}@{version}"
