"""The feed: validated videos, newest first, with their mob's name."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from milkmobs.api.errors import error_responses
from milkmobs.api.models import VideoList
from milkmobs.api.routes import DEFAULT_PAGE_SIZE, AppProvider, Cursor, Limit, MobIdQuery, new_router


def build_router(app: AppProvider) -> Router:
    router = new_router()

    def _feed(limit: int, cursor: str | None, mob_id: str | None) -> VideoList:
        page = app().feed(limit=limit, cursor=cursor, mob_id=mob_id)
        return VideoList(videos=page.items, next_cursor=page.next_cursor)

    @router.get(
        "/feed",
        summary="Validated videos, newest first (?mobId= filters to one mob)",
        tags=["feed"],
        responses={200: {"description": "OK"}, **error_responses(400, 404)},
        operation_id="get_feed",
    )
    def get_feed(limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None, mob_id: MobIdQuery = None) -> VideoList:
        return _feed(limit, cursor, mob_id)

    @router.get(
        "/videos/feed",
        summary="Same as GET /feed (the seed's path)",
        tags=["feed"],
        responses={200: {"description": "OK"}, **error_responses(400, 404)},
        operation_id="get_videos_feed",
    )
    def get_videos_feed(
        limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None, mob_id: MobIdQuery = None
    ) -> VideoList:
        return _feed(limit, cursor, mob_id)

    return router
