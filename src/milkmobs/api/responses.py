"""Answers encoded straight from the route's model to JSON text.

Powertools' response step validates what a route returned against its declared type, turns it into
plain Python (``dump_python(mode="json")``) and lets the response builder ``json.dumps`` that: three
passes over every answer, about a third of a small read's cost. When a route returns an instance of
exactly its declared model, that validation accepts it as it is (pydantic does not re-validate
instances), so the same JSON comes from one ``model_dump_json``. Anything else — a dict, a
``Response``, another type — takes Powertools' own path, validation included.
``tests/handlers/test_response_shapes.py`` checks the answers against their models.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIResponseValidationMiddleware
from pydantic import BaseModel


class ModelResponseMiddleware(OpenAPIResponseValidationMiddleware):
    """Powertools' response step, with declared models encoded in one pass (see the module docstring)."""

    def _handle_response(self, *, route: Any, response: Any) -> Any:
        field = route.dependant.return_param
        body = response.body
        if field is not None and isinstance(body, BaseModel) and type(body) is field.type_:
            response.body = body.model_dump_json(by_alias=True)
            return response
        return super()._handle_response(route=route, response=response)


def encode_models_directly(api: APIGatewayRestResolver) -> None:
    """Swap ``api``'s response step for :class:`ModelResponseMiddleware` (before its first request:
    each route builds its middleware stack on first use)."""
    current = getattr(api, "_response_validation_middleware", None)
    if not isinstance(current, OpenAPIResponseValidationMiddleware):
        raise AssertionError("the resolver has no response validation step to replace (enable_validation off?)")
    api._response_validation_middleware = ModelResponseMiddleware(
        validation_serializer=current._validation_serializer,
        has_response_validation_error=current._has_response_validation_error,
    )
