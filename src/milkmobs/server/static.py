"""The web pages shipped in the package (``milkmobs/web``): the consumer app at ``/``, the admin dashboard
at ``/admin/``, and ``/config.json`` telling them where the API is (here: this server itself).

Only files with a known type under the web folder are served; anything else falls through to the API
(which answers its JSON 404). File names carry no content hash, so pages and app code are revalidated
on every load (``no-cache`` + ETag → 304); vendored libraries carry their version in the name and are
cached for a year.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
#: Folder pages: the URL a person opens → the file that answers it.
PAGES = {"/": "index.html", "/admin/": "admin/index.html"}
#: Scripts and styles come from this server's own files only (no inline script); data, media and
#: sign-in may come from elsewhere over HTTPS: with ``--backend aws`` media are S3/CloudFront URLs,
#: and ``config.json`` may name a Cognito domain. CloudFront serves the published files with its own
#: response-headers policy.
PAGE_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:;"
        " media-src 'self' https:; connect-src 'self' https:; object-src 'none'; base-uri 'none';"
        " frame-ancestors 'none'; form-action 'self'",
    ),
    ("Referrer-Policy", "same-origin"),
]
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


def config_for(
    api_url: str, *, cognito_domain: str | None = None, cognito_client_id: str | None = None
) -> dict[str, Any]:
    """What the pages read from ``config.json`` (``deploy/`` writes the same shape next to the files).

    With a Cognito hosted-UI domain (``https://…``) and app client id, the admin dashboard signs in
    there (authorization code + PKCE); without them it asks for the admin token.
    """
    config: dict[str, Any] = {"apiUrl": api_url}
    if cognito_domain and cognito_client_id:
        config.update(cognitoDomain=cognito_domain, cognitoClientId=cognito_client_id)
    return config


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _own_url(environ: dict[str, Any]) -> str:
    scheme = str(environ.get("wsgi.url_scheme", "http"))
    host = str(environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT')}")
    return f"{scheme}://{host}"


class WebPages:
    """Answers GET/HEAD for the web files; ``None`` when the path is not one of them."""

    def __init__(self, root: Path = WEB_ROOT) -> None:
        self._root = root
        self._cache: dict[Path, tuple[int, bytes, str]] = {}  # file → (mtime, body, ETag): read once

    def answer(
        self, environ: dict[str, Any], start_response: StartResponse, method: str, path: str
    ) -> list[bytes] | None:
        if method not in ("GET", "HEAD"):
            return None
        if path == "/admin":
            start_response("308 Permanent Redirect", [("Location", "/admin/"), ("Content-Length", "0")])
            return []
        if path == "/config.json":
            body = json.dumps(config_for(_own_url(environ))).encode("utf-8")
            return self._send(environ, start_response, method, body, "application/json", REVALIDATE, _etag(body))
        file = self._file_for(path)
        if file is None:
            return None
        cache = IMMUTABLE if file.parent.name == "vendor" else REVALIDATE
        body, etag = self._read(file)
        extra = PAGE_HEADERS if file.suffix == ".html" else []
        return self._send(environ, start_response, method, body, CONTENT_TYPES[file.suffix], cache, etag, extra)

    def _read(self, file: Path) -> tuple[bytes, str]:
        mtime = file.stat().st_mtime_ns
        cached = self._cache.get(file)
        if cached is None or cached[0] != mtime:  # an edited file is read again (pages under development)
            body = file.read_bytes()
            cached = (mtime, body, _etag(body))
            self._cache[file] = cached
        return cached[1], cached[2]

    def _file_for(self, path: str) -> Path | None:
        relative = PAGES.get(path, path.lstrip("/"))
        parts = PurePosixPath(relative).parts
        if not parts or any(part in ("..", ".") or part.startswith(".") for part in parts):
            return None
        file = self._root.joinpath(*parts)
        if file.suffix not in CONTENT_TYPES or not file.is_file():
            return None
        return file

    @staticmethod
    def _send(
        environ: dict[str, Any],
        start_response: StartResponse,
        method: str,
        body: bytes,
        content_type: str,
        cache: str,
        etag: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        headers = [("ETag", etag), ("Cache-Control", cache), ("X-Content-Type-Options", "nosniff"), *(extra or [])]
        if etag in str(environ.get("HTTP_IF_NONE_MATCH", "")):
            start_response("304 Not Modified", headers)
            return []
        headers += [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [body]


web_pages = WebPages()
