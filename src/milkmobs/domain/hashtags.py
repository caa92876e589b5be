"""Hashtags are normalised exactly once, on the way in."""

from __future__ import annotations

from collections.abc import Iterable

from milkmobs.domain.errors import InvalidInputError

MAX_HASHTAGS = 30
MAX_HASHTAG_LENGTH = 100


def normalize_hashtag(tag: str) -> str:
    """Lower-case, strip whitespace and any leading '#'."""
    return tag.strip().lstrip("#").strip().lower()


def normalize_hashtags(tags: Iterable[str] | None) -> list[str]:
    """Normalise, drop empties and duplicates (first occurrence wins), keep order.

    Raises InvalidInputError (field ``hashtags``) for more than 30 tags or one over 100 characters.
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
                f"hashtag '{norm[:20]}…' is longer than {MAX_HASHTAG_LENGTH} characters", field="hashtags"
            )
        if norm:
            seen.setdefault(norm, None)
    return list(seen)
