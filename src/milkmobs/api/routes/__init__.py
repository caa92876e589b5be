"""One ``Router`` per resource; ``milkmobs.api.app.create_api`` includes them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from milkmobs.core.service import MilkMobs
from milkmobs.domain import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

#: Routes call this to get the application; it is built lazily, once per process.
AppProvider = Callable[[], MilkMobs]

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048, description="Opaque cursor from nextCursor")]
#: Ids are uuid-like hex strings (letters, digits, ``_`` and ``-``): anything else is a 422, never a lookup.
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
VideoIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]
MobIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]
VideoIdQuery = Annotated[str, Query(alias="videoId", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
MobIdQuery = Annotated[str | None, Query(alias="mobId", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


def new_router() -> Router:
    """A fresh resource router (typed wrapper: Powertools' ``Router()`` is unannotated)."""
    return Router()  # type: ignore[no-untyped-call]


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "ID_PATTERN",
    "AppProvider",
    "Cursor",
    "Limit",
    "MobIdPath",
    "MobIdQuery",
    "VideoIdPath",
    "VideoIdQuery",
    "new_router",
]
