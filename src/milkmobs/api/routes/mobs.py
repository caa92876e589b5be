"""Mobs: the list, and one mob with its videos."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from milkmobs.api.errors import error_responses
from milkmobs.api.models import MobList
from milkmobs.api.routes import DEFAULT_PAGE_SIZE, AppProvider, Cursor, Limit, MobIdPath, new_router
from milkmobs.core.views import MobDetail


def build_router(app: AppProvider) -> Router:
    router = new_router()

    @router.get(
        "/mobs",
        summary="Every mob, largest first",
        tags=["mobs"],
        responses={200: {"description": "OK"}, **error_responses()},
        operation_id="list_mobs",
    )
    def list_mobs() -> MobList:
        return MobList(mobs=app().list_mobs())

    @router.get(
        "/mobs/<mobId>",
        summary="One mob and a page of its videos",
        tags=["mobs"],
        responses={200: {"description": "OK"}, **error_responses(400, 404)},
        operation_id="get_mob",
    )
    def get_mob(mobId: MobIdPath, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None) -> MobDetail:
        return app().get_mob(mobId, limit=limit, cursor=cursor)

    return router
