"""The one route table: served by the API Lambdas in AWS and by ``milkmobs serve`` locally."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from milkmobs import __version__
from milkmobs.api.auth import AdminAuthorizer
from milkmobs.api.errors import install_error_handlers
from milkmobs.api.json_body import parse_json_body
from milkmobs.api.responses import encode_models_directly
from milkmobs.api.routes import AppProvider, admin, executions, feed, mobs, search, validation, videos

API_TITLE = "milkmobs API"
API_VERSION = __version__  # the package's version (the Lambda code asset has no dist-info to ask)
API_DESCRIPTION = (
    "Submit short campaign videos, follow their analysis, browse the feed and the mobs (communities of "
    "similar videos), search similar videos, and administer. JSON in camelCase; errors are "
    '`{"error": {"code", "message"}}`; lists are paginated with `limit` and an opaque `cursor`.'
)


def _cors(origins: Sequence[str]) -> CORSConfig | None:
    # No origins configured: no CORS headers at all (same-origin only). "*" only when configured.
    if not origins:
        return None
    first, *extra = list(origins)
    # Idempotency-Key: browsers may send it on POST /videos/submit to retry safely.
    return CORSConfig(allow_origin=first, extra_origins=extra or None, max_age=600, allow_headers=["Idempotency-Key"])


def _security_schemes() -> dict[str, Any]:
    return {"adminAuth": HTTPBearer(description="Admin token locally; a Cognito id token in AWS")}


def openapi_document(api: APIGatewayRestResolver) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``api``, as a dict (what ``GET /openapi.json`` answers)."""
    text = api.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        security_schemes=_security_schemes(),
    )
    document: dict[str, Any] = json.loads(text)
    return _advertise_real_errors(document)


def _advertise_real_errors(document: dict[str, Any]) -> dict[str, Any]:
    # Powertools advertises its own shapes for the 500 it adds and for validation errors; our one error
    # handler answers ErrorBody for both, so say that, and drop the schemas nothing refers to any more.
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            answer = operation.get("responses", {}).get("500")
            if answer is not None:
                answer["description"] = "Internal error (never caused by the request; see the server log)"
                answer["content"] = {"application/json": {"schema": dict(error_ref)}}
    schemas = document.get("components", {}).get("schemas", {})
    dropped = ("ResponseValidationError", "HTTPValidationError", "ValidationError")
    for name in dropped:
        schemas.pop(name, None)
    text = json.dumps(document)
    if any(f"#/components/schemas/{name}" in text for name in dropped):
        raise AssertionError("a route lacks error_responses(): it still refers to Powertools' own error shape")
    return document


class _MethodTable:
    """Which methods a path accepts, matched exactly as the resolver matches routes (static paths
    first), from the OpenAPI document on first use: a wrong method on a known path is a 405."""

    def __init__(self, api: APIGatewayRestResolver) -> None:
        self._api = api
        self._static: dict[str, list[str]] | None = None
        self._dynamic: list[tuple[re.Pattern[str], list[str]]] = []

    def _load(self) -> dict[str, list[str]]:
        static: dict[str, list[str]] = {}
        for template, item in openapi_document(self._api)["paths"].items():
            methods = sorted(m.upper() for m in item)
            if "{" not in template:
                static[template] = methods
            else:  # Powertools' own compiler, so "matches" means what the router means
                rule = re.sub(r"\{(\w+)\}", r"<\1>", template)
                self._dynamic.append((APIGatewayRestResolver._compile_regex(rule), methods))
        self._static = static
        return static

    def __call__(self, path: str) -> list[str]:
        static = self._static if self._static is not None else self._load()
        trimmed = path.rstrip("/") or "/"
        if trimmed in static:
            return static[trimmed]
        return sorted({m for pattern, methods in self._dynamic if pattern.match(path) for m in methods})


def create_api(
    app: AppProvider,
    *,
    authorizer: AdminAuthorizer,
    cors_origins: Sequence[str] = (),
    swagger: bool = False,
) -> APIGatewayRestResolver:
    """Build the resolver with every route. ``app`` is called on each request (cache it: build once)."""
    api = APIGatewayRestResolver(
        enable_validation=True,
        cors=_cors(cors_origins),
        response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
        json_body_deserializer=parse_json_body,
    )
    encode_models_directly(api)
    api.include_router(videos.build_router(app))
    api.include_router(feed.build_router(app))
    api.include_router(mobs.build_router(app))
    api.include_router(search.build_router(app))
    api.include_router(validation.build_router(app))
    api.include_router(executions.build_router(app))
    api.include_router(admin.build_router(app, authorizer))

    def authorize_admin_paths(event: Any) -> None:
        if event.path.startswith("/admin/"):
            authorizer.authorize(event.raw_event)

    install_error_handlers(api, _MethodTable(api), authorize_first=authorize_admin_paths)

    @api.get("/openapi.json", include_in_schema=False)
    def get_openapi() -> Response[str]:
        return Response(
            status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(openapi_document(api))
        )

    if swagger:  # the interactive page; its assets are inlined, so it works offline
        api.enable_swagger(
            path="/docs",
            title=API_TITLE,
            version=API_VERSION,
            description=API_DESCRIPTION,
            security_schemes=_security_schemes(),
        )
    return api
