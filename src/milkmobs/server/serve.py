"""``milkmobs serve``: the route table, the upload/media routes and the background pipeline on one port.

The server socket is bound first so the application can be built with the real address (upload and
media URLs point back here, also with ``--port 0``). Requests are served by waitress threads; the
pipeline runs in the in-process orchestrator's background workers. SIGINT/SIGTERM stop accepting,
let in-flight requests finish, then close the application (workers drain, stores flush).
"""

from __future__ import annotations

import importlib.util
import logging
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from milkmobs.api.app import create_api
from milkmobs.api.auth import BearerTokenAuthorizer
from milkmobs.core.service import MilkMobs
from milkmobs.domain import ConfigurationError
from milkmobs.server.wsgi import LocalHttpApp
from milkmobs.settings import Backend, Settings

logger = logging.getLogger("milkmobs.server")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    swagger: bool = True


def build_application(settings: Settings, *, background: bool = True) -> MilkMobs:
    """The application through the composition root; ``background``: pipeline in worker threads
    (the server) rather than inline (the CLI)."""
    if settings.backend == Backend.LOCAL and importlib.util.find_spec("milkmobs.adapters.local.factory") is None:
        # Say so plainly rather than silently serving another backend.
        raise ConfigurationError("the local backend is not available in this installation; use --backend memory")
    from milkmobs.bootstrap import build

    app: MilkMobs = build(settings, background=background)
    return app


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class _Holder:
    """The application, set once the socket is bound (requests before that get 503)."""

    def __init__(self) -> None:
        self.app: MilkMobs | None = None

    def __call__(self) -> MilkMobs:
        if self.app is None:
            from milkmobs.domain import BackendUnavailableError

            raise BackendUnavailableError("the server is starting; retry in a moment")
        return self.app


def serve(
    settings: Settings,
    options: ServeOptions,
    *,
    out: TextIO = sys.stdout,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code."""
    from waitress.server import create_server  # type: ignore[import-untyped]

    token = settings.admin_token
    generated = token is None
    if generated:
        token = secrets.token_urlsafe(24)
    holder = _Holder()
    api = create_api(
        holder, authorizer=BearerTokenAuthorizer(token), cors_origins=settings.cors_origins, swagger=options.swagger
    )
    wsgi = LocalHttpApp(
        api.resolve, holder, max_upload_bytes=settings.max_upload_bytes, cors_origins=settings.cors_origins
    )
    server: Any = create_server(
        wsgi,
        host=options.host,
        port=options.port,
        threads=options.threads,
        ident="milkmobs",
        max_request_body_size=settings.max_upload_bytes + 1024 * 1024,
        clear_untrusted_proxy_headers=True,
    )
    base_url = f"http://{_url_host(options.host)}:{server.effective_port}"
    app = build_application(settings.model_copy(update={"public_base_url": base_url, "admin_token": token}))
    holder.app = app

    def _stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # waitress' loop ends on this and stops its threads

    previous = (
        {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        if threading.current_thread() is threading.main_thread()
        else {}
    )
    print(f"milkmobs serving {settings.backend.value} backend on {base_url}", file=out)
    if generated:
        print(f"  admin token (shown once): {token}", file=out)
    print(f"  API docs: {base_url}/docs   OpenAPI: {base_url}/openapi.json", file=out)
    out.flush()
    if ready is not None:
        ready(base_url)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        try:
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=10)
            server.close()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            app.close()  # orchestrator workers finish the step they are in; stores close cleanly
            print("milkmobs stopped", file=out)
            out.flush()
    return 0
