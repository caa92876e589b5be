"""The one place where errors become HTTP answers: ``{"error": {"code", "message"}}``.

Domain errors map by class (never by message text); request-validation errors list the failing
fields without echoing what the client sent; anything unexpected is logged and answered with a
plain 500 that carries no stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import Field

from milkmobs.domain import (
    AnalysisError,
    BackendUnavailableError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MediaError,
    MilkmobsError,
    NotFoundError,
    PayloadTooLargeError,
    TransientAnalysisError,
    UnauthorizedError,
)
from milkmobs.domain.base import DomainModel

logger = logging.getLogger("milkmobs.api")


class FieldProblem(DomainModel):
    """One field a request got wrong (``loc`` is where, e.g. ``["query", "limit"]``)."""

    loc: list[str | int]
    type: str
    message: str


class ErrorDetail(DomainModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid_input")
    message: str = Field(description="Readable explanation of what went wrong and what to do")
    field: str | None = None
    fields: list[FieldProblem] | None = None
    video_id: str | None = Field(
        default=None, description="The video the error is about (e.g. the one a duplicate names)"
    )


class ErrorBody(DomainModel):
    """Every error answer of the API has this shape."""

    error: ErrorDetail


# Order matters: subclasses before their bases (PayloadTooLarge is an InvalidInput).
_STATUS_BY_ERROR: tuple[tuple[type[MilkmobsError], HTTPStatus], ...] = (
    (PayloadTooLargeError, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    (InvalidInputError, HTTPStatus.BAD_REQUEST),
    (UnauthorizedError, HTTPStatus.UNAUTHORIZED),
    (ForbiddenError, HTTPStatus.FORBIDDEN),
    (NotFoundError, HTTPStatus.NOT_FOUND),
    (ConflictError, HTTPStatus.CONFLICT),
    (MediaError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (TransientAnalysisError, HTTPStatus.SERVICE_UNAVAILABLE),
    (BackendUnavailableError, HTTPStatus.SERVICE_UNAVAILABLE),
    (AnalysisError, HTTPStatus.BAD_GATEWAY),
)

_DESCRIPTIONS: dict[int, str] = {
    400: "Bad input (the message names the field)",
    401: "No admin credentials were presented",
    403: "The credentials do not grant admin access",
    404: "No such video, mob or route",
    409: "The video is in the wrong state, the file was already uploaded, or the Idempotency-Key was reused",
    413: "The declared size is above the configured limit",
    415: "The body is sent as another type than application/json",
    422: "The request does not match the schema (the failing fields are listed)",
    500: "Internal error (never caused by the request; see the server log)",
    503: "A backing service is unavailable; retry later",
}


def status_for(exc: MilkmobsError) -> HTTPStatus:
    """The HTTP status of a domain error (500 for errors that are our fault, e.g. configuration)."""
    for cls, status in _STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return HTTPStatus.INTERNAL_SERVER_ERROR


def error_response(status: int, code: str, message: str, **extra: Any) -> Response[Any]:
    """A JSON error answer in the API's one error shape."""
    detail: dict[str, Any] = {"code": code, "message": message}
    detail.update({k: v for k, v in extra.items() if v is not None})
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body={"error": detail})


def error_responses(*codes: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` entries advertising the real error shape for ``codes`` (422 and 500 always:
    every route validates its input, and any route can fail)."""
    out: dict[int, OpenAPIResponse] = {}
    for code in sorted({*codes, 422, 500}):
        out[code] = {
            "description": _DESCRIPTIONS.get(code, HTTPStatus(code).phrase),
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
    return out


def _field_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo ``input``: it may be large or sensitive, and it is the client's own data anyway.
    return [
        {
            "loc": [str(p) if not isinstance(p, int) else p for p in err.get("loc", ())],
            "type": str(err.get("type", "invalid")),
            "message": str(err.get("msg", "invalid value")),
        }
        for err in exc.errors()
    ]


def install_error_handlers(
    app: APIGatewayRestResolver,
    allowed_methods: Callable[[str], list[str]] | None = None,
    authorize_first: Callable[[Any], None] | None = None,
) -> None:
    """Register the mapping on ``app`` (domain errors, validation errors, unknown routes, the rest).

    ``allowed_methods(path)`` lists the methods a known path accepts, so a wrong method on it is a
    405 with ``Allow`` rather than a 404. ``authorize_first(event)`` runs before a validation error
    is reported (Powertools validates before route middlewares), so an anonymous caller of an
    admin route learns 401, not what its query got wrong.
    """

    def _domain(exc: MilkmobsError) -> Response[Any]:
        status = status_for(exc)
        if status >= 500:
            logger.error("request failed: %s: %s", type(exc).__name__, exc.message)
        return error_response(int(status), exc.code, exc.message, field=exc.field, videoId=exc.video_id)

    def _validation(exc: RequestValidationError) -> Response[Any]:
        if authorize_first is not None:
            try:
                authorize_first(app.current_event)
            except MilkmobsError as denied:
                return _domain(denied)
        if _sent_non_json():
            return _unsupported_type(None)  # e.g. a form-encoded body: every body of this API is JSON
        problems = _field_problems(exc)
        where = ", ".join(".".join(str(p) for p in prob["loc"]) for prob in problems[:5])
        return error_response(
            422, "validation_error", f"the request does not match the API schema ({where or 'body'})", fields=problems
        )

    def _sent_non_json() -> bool:
        event = app.current_event
        sent = (event.headers.get("content-type") or "").strip().lower()
        return bool(event.body) and bool(sent) and not sent.startswith("application/json")

    def _unsupported_type(_exc: RequestUnsupportedContentType | None) -> Response[Any]:
        sent = app.current_event.headers.get("content-type") or "none"
        return error_response(415, "unsupported_media_type", f"send the body as application/json (got {sent})")

    def _value_error(exc: ValueError) -> Response[Any]:
        # Powertools raises a bare ValueError for a multipart/form body it cannot parse; none of our
        # routes take such bodies, so that is the client's media type, not our bug.
        if isinstance(exc, UnicodeError | json.JSONDecodeError):
            return error_response(400, "invalid_input", "the request body is not valid UTF-8 JSON", field="body")
        sent = app.current_event.headers.get("content-type") or ""
        if sent and not sent.lower().startswith("application/json"):
            return _unsupported_type(None)
        return _unexpected(exc)

    def _bad_response(exc: ResponseValidationError) -> Response[Any]:
        logger.error("response failed its own schema: %s", exc.errors())
        return error_response(500, "internal_error", "the server produced an invalid answer; see the server log")

    def _no_route(_exc: RouteNotFoundError) -> Response[Any]:
        event = app.current_event
        methods = allowed_methods(event.path) if allowed_methods else []
        if methods:
            answer = error_response(
                405, "method_not_allowed", f"{event.path} accepts {', '.join(methods)}, not {event.http_method}"
            )
            answer.headers["Allow"] = ", ".join(methods)
            return answer
        return error_response(404, "not_found", f"no route for {event.http_method} {event.path}")

    def _service(exc: ServiceError) -> Response[Any]:
        return error_response(
            exc.status_code, HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_"), str(exc.msg)
        )

    def _unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unhandled error in %s %s", app.current_event.http_method, app.current_event.path)
        return error_response(500, "internal_error", "internal error; see the server log")

    # Registered by call, not decorator: Powertools' decorators are untyped.
    app.exception_handler(MilkmobsError)(_domain)
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(ResponseValidationError)(_bad_response)
    app.exception_handler(RequestUnsupportedContentType)(_unsupported_type)
    app.exception_handler(ValueError)(_value_error)
    app.exception_handler(ServiceError)(_service)
    app.exception_handler(Exception)(_unexpected)
    app.not_found(_no_route)
