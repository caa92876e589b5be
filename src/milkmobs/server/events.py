"""Plain HTTP ⇄ API Gateway REST (payload v1) proxy events, so the Lambda route table serves locally.

API Gateway is what turns HTTP into events in AWS; locally this ~80-line translation plays its part
(no well-kept package does this direction). Non-text bodies are base64-encoded, like an API with
``binaryMediaTypes`` covering them, because the multipart parser needs ``isBase64Encoded``.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")


def to_event(
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    stage: str = "local",
) -> dict[str, Any]:
    """The REST proxy event API Gateway would hand the Lambda for this request."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:  # keep every value of repeated headers
        multi_headers.setdefault(name.lower(), []).append(value)
    multi_query = parse_qs(query, keep_blank_values=True)
    content_type = multi_headers.get("content-type", [""])[-1]
    encoded = bool(body) and not content_type.startswith(TEXT_TYPES)
    text: str | None = None
    if body and not encoded:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            encoded = True
    data = base64.b64encode(body).decode("ascii") if encoded else text
    context = {
        "resourcePath": "/{proxy+}",
        "httpMethod": method,
        "path": path,  # no stage prefix: routes match the decoded path as is
        "stage": stage,
        "requestId": uuid.uuid4().hex,
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {"sourceIp": source_ip},
        "protocol": "HTTP/1.1",
    }
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": context,
        "body": data,
        "isBase64Encoded": encoded,
    }


def from_response(response: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (one per value) and body bytes of a proxy-integration answer."""
    multi = response.get("multiValueHeaders") or {}
    headers = [(k, str(v)) for k, values in multi.items() for v in values]
    headers += [(k, str(v)) for k, v in (response.get("headers") or {}).items() if k not in multi]
    body = response.get("body") or ""
    payload = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(response.get("statusCode", 200)), headers, payload
