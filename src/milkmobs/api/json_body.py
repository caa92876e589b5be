"""The route table's JSON body reader: bounded in size and nesting, refusing with the error shape.

Powertools parses request bodies with ``json.loads``; a body nested thousands of levels deep makes
that raise RecursionError (a 500 with a traceback), and nothing bounds the size. Every JSON body of
this API is a small object, so anything past these bounds is the client's mistake and answered so.
"""

from __future__ import annotations

import json
import re
from typing import Any

from milkmobs.domain import InvalidInputError, PayloadTooLargeError

MAX_JSON_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
#: Strings (skipped whole, so brackets inside them do not count) and the brackets that nest.
_NESTING_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (without parsing it)."""
    depth = deepest = 0
    for token in _NESTING_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json_body(text: str) -> Any:
    """The parsed body; PayloadTooLargeError over 64 KiB, InvalidInputError when nested deeper than 32
    levels or not JSON (field ``body``)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_JSON_BODY_BYTES:
        raise PayloadTooLargeError(
            f"the JSON body is {size} bytes; at most {MAX_JSON_BODY_BYTES} are accepted", field="body"
        )
    if json_depth(text) > MAX_JSON_DEPTH:
        raise InvalidInputError(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", field="body")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"the request body is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", field="body"
        ) from None
    except RecursionError:  # cannot happen below the depth bound; never a 500 if it does
        raise InvalidInputError("the JSON body nests too deeply", field="body") from None
