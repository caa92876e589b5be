"""Errors waitress answers itself (before the application runs) in the API's one error shape.

Waitress refuses some requests on its own: a body above ``max_request_body_size`` (413), headers
too large (431), malformed request lines, headers or chunked bodies (400). Its answers are plain
text; clients of this API parse ``{"error": {"code", "message"}}``, so the server's channels answer
with that instead.
"""

from __future__ import annotations

import json
from typing import Any

from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
from waitress.task import ErrorTask  # type: ignore[import-untyped]

#: waitress status → the code the route table uses for the same status.
_CODES = {400: "invalid_input", 413: "payload_too_large", 431: "headers_too_large", 501: "not_implemented"}


def error_body(status: int, reason: str, detail: str) -> bytes:
    code = _CODES.get(status, "internal_error" if status >= 500 else "invalid_input")
    message = f"{reason.lower()}: {detail}" if detail else reason.lower()
    return json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")


class JsonErrorTask(ErrorTask):  # type: ignore[misc]
    """waitress' ErrorTask with a JSON body (same status, connection closed after it, as waitress does)."""

    def execute(self) -> None:
        error = self.request.error
        body = error_body(int(error.code), str(error.reason), str(error.body))
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):  # type: ignore[misc]
    error_task_class = JsonErrorTask


def answer_errors_as_json(server: Any) -> None:
    """Make a waitress server (from ``create_server``) answer its own errors with the error shape."""
    # One listening socket: the server itself; several: a MultiSocketServer whose map holds them.
    listeners = [server] if hasattr(server, "channel_class") else list(getattr(server, "map", {}).values())
    for listener in listeners:
        if hasattr(listener, "channel_class"):
            listener.channel_class = JsonErrorChannel
