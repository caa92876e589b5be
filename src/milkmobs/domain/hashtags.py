"""Hashtags are normalised and checked exactly once, on the way in."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from milkmobs.domain.errors import InvalidInputError
from milkmobs.domain.text import describe_character

MAX_HASHTAGS = 30
MAX_HASHTAG_LENGTH = 100
#: A normalised hashtag: letters (any script), digits and underscores only — the one pattern.
HASHTAG_PATTERN = re.compile(r"\w+")  # used with fullmatch


def normalize_hashtag(tag: str) -> str:
    """NFC, lower-case, strip whitespace and any leading '#'."""
    return unicodedata.normalize("NFC", tag).strip().lstrip("#").strip().lower()


def normalize_hashtags(tags: Iterable[str] | None) -> list[str]:
    """Normalise, drop empties and duplicates (first occurrence wins), keep order.

    Raises InvalidInputError (field ``hashtags``) for more than 30 tags, one over 100 characters, or
    one with anything but letters, digits and underscores (``HASHTAG_PATTERN``).
    """
    if tags is None:
        return []
    if isinstance(tags, str):
        raise InvalidInputError("hashtags must be a list of strings", field="hashtags")
    raw = list(tags)
    if len(raw) > MAX_HASHTAGS:
        raise InvalidInputError(f"at most {MAX_HASHTAGS} hashtags are allowed, got {len(raw)}", field="hashtags")
    seen: dict[str, None] = {}
    for tag in raw:
        if not isinstance(tag, str):
            raise InvalidInputError("hashtags must be strings", field="hashtags")
        norm = normalize_hashtag(tag)
        if len(norm) > MAX_HASHTAG_LENGTH:
            raise InvalidInputError(
                f"hashtag #{len(seen) + 1} is longer than {MAX_HASHTAG_LENGTH} characters", field="hashtags"
            )
        if norm and not HASHTAG_PATTERN.fullmatch(norm):
            bad = next(char for char in norm if not HASHTAG_PATTERN.fullmatch(char))
            raise InvalidInputError(
                f"hashtag #{len(seen) + 1} contains {describe_character(bad)}; hashtags may hold only letters, "
                "digits and underscores",
                field="hashtags",
            )
        if norm:
            seen.setdefault(norm, None)
    return list(seen)
