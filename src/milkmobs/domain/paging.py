"""Cursor pagination shared by every list: the page and the one cursor codec every backend uses."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from milkmobs.domain.display import ResultList, dataframe, html_rows, short
from milkmobs.domain.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of results; ``next_cursor`` is None on the last page. Cursors are opaque strings."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None

    def __repr__(self) -> str:
        return f"Page(items={short(self.items)!r}, next_cursor={short(self.next_cursor)!r})"

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per item, nested fields flattened (``validation.score``); needs pandas."""
        return dataframe(self.items)

    def to_json_dict(self) -> dict[str, object]:
        """``{"items": [...], "nextCursor": ...}``, each item in its camelCase JSON form."""
        return {"items": ResultList(self.items).to_json_dict()["items"], "nextCursor": self.next_cursor}

    def _repr_html_(self) -> str:
        more = "<p><small>more: pass <code>cursor=page.next_cursor</code></small></p>" if self.next_cursor else ""
        return html_rows(self.items) + more


#: Longer cursors are refused before any decoding: a cursor is a few dozen bytes.
MAX_CURSOR_LENGTH = 2048


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid(reason: str) -> InvalidInputError:
    return InvalidInputError(f"the cursor {reason}; start again without a cursor", field="cursor")


class CursorCodec:
    """Opaque, tamper-evident cursors bound to the list that produced them — every backend's one codec.

    A cursor is ``base64url(json) "." base64url(hmac_sha256(key, json))``; the JSON holds the list's
    identity (``query``, e.g. ``user:<id>``) and the position of the last item served, a string each
    backend forms from its own sort key. The HMAC makes a forged or edited cursor detectable; the query
    check stops a cursor of one list being replayed against another (another user's videos, say).
    Every failure is ``InvalidInputError(field="cursor")``, never a 500. Without a secret the codec
    draws a random one: its cursors are then valid for this instance only.
    """

    def __init__(self, secret: bytes | str | None = None) -> None:
        raw = secrets.token_bytes(32) if secret is None else secret
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if not raw:
            raise ValueError("the cursor secret is empty")
        self._key = hashlib.sha256(b"milkmobs-cursor\x00" + raw).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def encode(self, query: str, position: str) -> str:
        """A cursor that resumes ``query`` after the item whose position is ``position``."""
        payload = json.dumps({"q": query, "p": position}, separators=(",", ":")).encode("utf-8")
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, query: str, cursor: str) -> str:
        """The position in ``cursor``; InvalidInputError unless this codec made it for ``query``."""
        if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise _invalid("is malformed")
        body, signature = cursor.split(".")
        try:
            payload, given = _b64decode(body), _b64decode(signature)
        except (binascii.Error, ValueError) as exc:
            raise _invalid("is malformed") from exc
        if not hmac.compare_digest(given, self._sign(payload)):
            raise _invalid("was not issued by this service or was altered")
        try:
            data = json.loads(payload)
        except ValueError as exc:  # only reachable with a leaked secret; still never a 500
            raise _invalid("is malformed") from exc
        if not isinstance(data, dict) or not isinstance(data.get("p"), str):
            raise _invalid("is malformed")
        if data.get("q") != query:
            raise _invalid("belongs to another list")
        position: str = data["p"]
        return position
