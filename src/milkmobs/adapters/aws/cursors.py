"""Opaque, tamper-evident page cursors bound to the query that produced them.

A cursor is ``base64url(json) "." base64url(hmac_sha256(secret, json))``. The JSON holds the
query's identity (``user:<id>``, ``status:<s>``, ``mob:<id>``, ``all``) and the sort key of the
last item served. The HMAC makes a forged or edited cursor detectable, and checking the query
identity stops a cursor from one list being replayed against another (say, to page through
another user's videos). Any failure is ``InvalidInputError(field="cursor")``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from milkmobs.domain.errors import InvalidInputError

_VERSION = 1
_MAX_CURSOR_LENGTH = 2048


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs and checks cursors with one secret (``settings.cursor_secret``)."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 8:
            raise ValueError("the cursor secret must have at least 8 characters")
        self._key = hashlib.sha256(b"milkmobs-cursor:" + secret.encode("utf-8")).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def encode(self, query: str, position: str) -> str:
        """A cursor that resumes ``query`` after the item whose sort key is ``position``."""
        payload = json.dumps({"v": _VERSION, "q": query, "p": position}, separators=(",", ":")).encode("utf-8")
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, query: str, cursor: str) -> str:
        """The position carried by ``cursor``; InvalidInputError unless it was made by us for ``query``."""
        if not isinstance(cursor, str) or not cursor or len(cursor) > _MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise InvalidInputError("the cursor is malformed; start again without a cursor", field="cursor")
        body, signature = cursor.split(".")
        try:
            payload = _b64decode(body)
            given = _b64decode(signature)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInputError("the cursor is malformed; start again without a cursor", field="cursor") from exc
        if not hmac.compare_digest(given, self._sign(payload)):
            raise InvalidInputError("the cursor was not issued by this service or was altered", field="cursor")
        try:
            data = json.loads(payload)
        except ValueError as exc:  # only reachable with a leaked secret; still never a 500
            raise InvalidInputError("the cursor is malformed", field="cursor") from exc
        if not isinstance(data, dict) or data.get("v") != _VERSION or not isinstance(data.get("p"), str):
            raise InvalidInputError("the cursor is malformed; start again without a cursor", field="cursor")
        if data.get("q") != query:
            raise InvalidInputError("the cursor belongs to another list; start again without a cursor", field="cursor")
        position: str = data["p"]
        return position
