"""People's text, checked once where it enters: no control or direction-changing characters.

Titles, descriptions, user ids and hashtags end up in terminals, logs, HTML and other people's
feeds. A C0/C1 control character (NUL, ESC, CR, newline and tab included) or a bidi control
(which reorders what is displayed, e.g. to disguise a name) has no place in any of them, so every
such field is the one ``SafeText`` type, and anything else is refused with the field named.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from milkmobs.domain.errors import InvalidInputError

#: C0 and DEL, C1, the Arabic letter mark, LRM/RLM, the bidi embeddings/overrides/isolates, the BOM.
_UNSAFE_CLASS = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff"
UNSAFE_CHARACTERS = re.compile(f"[{_UNSAFE_CLASS}]")
#: The same rule as a JSON-schema pattern, so the OpenAPI document says what is accepted.
SAFE_TEXT_PATTERN = f"^[^{_UNSAFE_CLASS}]*$"


def describe_character(char: str) -> str:
    """``U+001B`` — how a refused character is named in messages (never the character itself)."""
    return f"U+{ord(char):04X}"


def unsafe_character(text: str) -> str | None:
    """The first control or bidi character in ``text``, or None."""
    match = UNSAFE_CHARACTERS.search(text)
    return match.group(0) if match else None


def visible_controls(text: str) -> str:
    """``text`` with each control or bidi character written as a visible ``\\u001b`` escape (for terminals
    and logs that must show stored text without obeying it)."""
    return UNSAFE_CHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def checked_text(text: str, *, field: str) -> str:
    """``text`` unchanged, or InvalidInputError naming ``field`` and the character's code point."""
    char = unsafe_character(text)
    if char is not None:
        raise InvalidInputError(
            f"{field} contains the control character {describe_character(char)}; send plain text "
            "(no control, escape or text-direction characters)",
            field=field,
        )
    return text


def _safe(text: str) -> str:
    char = unsafe_character(text)
    if char is not None:
        raise ValueError(f"contains the control character {describe_character(char)}; send plain text")
    return text


#: A string with no control or bidi characters (pydantic refuses others with the code point named).
SafeText = Annotated[str, AfterValidator(_safe), Field(json_schema_extra={"pattern": SAFE_TEXT_PATTERN})]
