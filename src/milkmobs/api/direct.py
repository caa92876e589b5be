"""Plain GETs answered by the route table's own functions without Powertools' event plumbing.

For a GET, Powertools wraps the event in its data class, walks its middleware frames, validates the
path and query parameters, calls the route function, validates and encodes what it returned and
builds the proxy answer: on a `/videos/{id}` page, about twice the core call itself. Where none of
that can change the answer, this does only what does: the same route is matched the same way
(Powertools' own compiled rules, in its order), the parameters are validated by Powertools' own
function against the route's own fields, the route's own function is called and its model encoded
as ``api/responses.py`` encodes it. Everything else is left to the resolver (``answer`` says None):
a route with middlewares, a route function that reads the request context itself
(``current_event``, ``lambda_context``, ``context``: a direct call would hand it the last
request's), compression, a cache-control or a status of its own, parameters other than scalar path
and query ones, a repeated query parameter, a parameter that fails validation, CORS
headers to add, an exception, a return value that is not exactly the declared model.

The Lambdas and ``milkmobs serve`` still share one route table: these are its routes and functions,
and ``tests/handlers/test_direct_gets.py`` holds the answers equal to the resolver's.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import _request_params_to_args
from aws_lambda_powertools.event_handler.openapi.compat import is_scalar_field
from pydantic import BaseModel

Answer = tuple[int, list[tuple[str, str]], bytes]
_JSON = [("Content-Type", "application/json")]


class _Route:
    """What a direct answer needs of one eligible route."""

    def __init__(self, route: Any) -> None:
        self.rule: re.Pattern[str] = route.rule
        self.func = route.func
        self.path_params = route.dependant.path_params
        self.query_params = route.dependant.query_params
        self.model: type[BaseModel] = route.dependant.return_param.type_


#: A rule (Powertools' compiled pattern) whose first path segment is these plain characters, followed
#: by a slash: only a path whose first segment is exactly that word can match it.
_LITERAL_FIRST_SEGMENT = re.compile(r"\^/([A-Za-z0-9_-]+)/")

_Candidates = list[tuple[re.Pattern[str], "_Route | None"]]


class DirectGets:
    """The GET routes of ``api`` that a direct answer gives the resolver's answer for."""

    def __init__(self, api: APIGatewayRestResolver) -> None:
        self._cors = getattr(api, "_cors", None) is not None
        # Every GET route, in the resolver's order; None where the resolver must answer.
        routes: _Candidates = [
            (route.rule, _Route(route) if _eligible(route) else None)
            for route in [*api._static_routes, *api._dynamic_routes]
            if route.method == "GET"
        ]
        # The same, less the rules that cannot match a path's first segment: one or two tries where
        # matching every rule in turn was a tenth of a /videos/{id} page's own work.
        firsts = [_first_segment(rule) for rule, _ in routes]
        self._anywhere: _Candidates = [entry for entry, first in zip(routes, firsts, strict=True) if first is None]
        self._by_first_segment: dict[str, _Candidates] = {
            segment: [entry for entry, first in zip(routes, firsts, strict=True) if first in (segment, None)]
            for segment in set(firsts) - {None}
            if segment is not None
        }

    def answer(self, path: str, query: str, *, origin: bool) -> Answer | None:
        """The resolver's answer to ``GET path?query`` when it can be given directly, else None;
        ``origin``: whether the request has an ``Origin`` header."""
        if self._cors and origin:
            return None  # CORS headers are the resolver's
        for rule, route in self._by_first_segment.get(path[1:].split("/", 1)[0], self._anywhere):
            match = rule.match(path)
            if match is not None:
                return None if route is None else _answer(route, match.groupdict(), query)
        return None


def _first_segment(rule: re.Pattern[str]) -> str | None:
    """The first path segment every path ``rule`` matches has, when the rule fixes it (else None)."""
    literal = _LITERAL_FIRST_SEGMENT.match(rule.pattern)
    return None if literal is None else literal.group(1)


#: Resolver attributes that hold the current request: a route function naming one reads the request
#: itself, which only the resolver sets.
_REQUEST_CONTEXT = frozenset({"current_event", "lambda_context", "context", "append_context"})


def _reads_request_context(func: Any) -> bool:
    code = getattr(func, "__code__", None)
    if code is None:
        return True  # not a plain function: cannot tell, so the resolver answers
    names: set[str] = set()
    stack = [code]
    while stack:  # the function and every function or lambda defined inside it
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(const for const in current.co_consts if hasattr(const, "co_names"))
    return not names.isdisjoint(_REQUEST_CONTEXT)


def _eligible(route: Any) -> bool:
    dependant = route.dependant
    returned = dependant.return_param
    return (
        not route.middlewares
        and not _reads_request_context(route.func)
        and not route.compress
        and route.cache_control is None
        and route.status_code == 200
        and route.enable_validation is not False
        and not dependant.header_params
        and not dependant.cookie_params
        and not dependant.body_params
        and all(is_scalar_field(field) for field in [*dependant.path_params, *dependant.query_params])
        and returned is not None
        and isinstance(returned.type_, type)
        and issubclass(returned.type_, BaseModel)
    )


def _answer(route: _Route, path_args: dict[str, str], query: str) -> Answer | None:
    parsed = parse_qs(query, keep_blank_values=True) if query else {}
    if any(len(values) > 1 for values in parsed.values()):
        return None  # the resolver joins or keeps repeated values by the parameter's type
    path_values, path_errors = _request_params_to_args(route.path_params, path_args)
    query_values, query_errors = _request_params_to_args(
        route.query_params, {name: values[0] for name, values in parsed.items()}
    )
    if path_errors or query_errors:
        return None  # the resolver's validation error answer
    try:
        result = route.func(**path_values, **query_values)
    except Exception:
        return None  # the resolver answers it (through the error handlers), calling the route again
    if type(result) is not route.model:
        return None
    # ``model_dump_json`` is this serializer's bytes decoded to text: the bytes as they are, without its
    # keyword plumbing (a microsecond of a page's few).
    return 200, list(_JSON), route.model.__pydantic_serializer__.to_json(result, by_alias=True)
