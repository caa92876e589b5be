"""Opaque, tamper-proof pagination cursors for the in-memory stores.

A cursor carries the query it belongs to (as a fingerprint) and the sort key of the last
item returned — not an index — so deleting that item does not break the next page. It is
signed with a per-store secret: forged, edited or foreign cursors are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import datetime

from milkmobs.domain.errors import InvalidInputError

SortKey = tuple[datetime, str]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid(reason: str) -> InvalidInputError:
    return InvalidInputError(
        f"cursor is not valid for this list ({reason}); start again without a cursor", field="cursor"
    )


class CursorCodec:
    """Encodes ``(query, last sort key)`` as ``base64url(json).base64url(hmac)``."""

    def __init__(self, secret: bytes | None = None) -> None:
        # A random secret per store: cursors from another store instance are foreign.
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    @staticmethod
    def _fingerprint(query: str) -> str:
        return hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def encode(self, query: str, key: SortKey) -> str:
        """A cursor that resumes ``query`` after the item whose sort key is ``key``."""
        payload = json.dumps(
            {"q": self._fingerprint(query), "k": [key[0].isoformat(), key[1]]}, separators=(",", ":")
        ).encode("utf-8")
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, cursor: str, query: str) -> SortKey:
        """The sort key in ``cursor``; InvalidInputError(field="cursor") unless it is ours and for ``query``."""
        if not isinstance(cursor, str) or cursor.count(".") != 1:
            raise _invalid("malformed")
        body, signature = cursor.split(".")
        try:
            payload = _b64decode(body)
            given = _b64decode(signature)
        except (binascii.Error, ValueError) as exc:
            raise _invalid("malformed") from exc
        if not hmac.compare_digest(given, self._sign(payload)):
            raise _invalid("bad signature")
        try:
            data = json.loads(payload)
            fingerprint, (created_at, item_id) = data["q"], data["k"]
            key = (datetime.fromisoformat(created_at), str(item_id))
        except (ValueError, KeyError, TypeError) as exc:
            raise _invalid("malformed") from exc
        if fingerprint != self._fingerprint(query):
            raise _invalid("it belongs to another query")
        return key
