"""Cursor pagination shared by every list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of results; ``next_cursor`` is None on the last page. Cursors are opaque strings."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None
