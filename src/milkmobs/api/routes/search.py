"""Similar videos (vector search) and text search."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from milkmobs.api.errors import error_responses
from milkmobs.api.routes import AppProvider, MobIdQuery, VideoIdQuery, new_router
from milkmobs.core.views import SimilarVideos

SearchLimit = Annotated[int, Query(ge=1, le=100, description="How many results")]


def build_router(app: AppProvider) -> Router:
    router = new_router()

    @router.get(
        "/search/similar",
        summary="Validated videos most similar to videoId (cosine), the video itself excluded",
        tags=["search"],
        responses={200: {"description": "OK"}, **error_responses(400, 404, 409)},
        operation_id="search_similar",
    )
    def search_similar(video_id: VideoIdQuery, limit: SearchLimit = 10, mob_id: MobIdQuery = None) -> SimilarVideos:
        return app().similar_videos(video_id, limit=limit, mob_id=mob_id)

    @router.get(
        "/search/text",
        summary="Validated videos matching a text query, best first",
        tags=["search"],
        responses={200: {"description": "OK"}, **error_responses(400, 404, 503)},
        operation_id="search_text",
    )
    def search_text(
        q: Annotated[str, Query(min_length=1, max_length=500, description="The text to search for")],
        limit: SearchLimit = 10,
        mob_id: MobIdQuery = None,
    ) -> SimilarVideos:
        return app().search_text(q, limit=limit, mob_id=mob_id)

    return router
