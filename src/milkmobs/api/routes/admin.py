"""Admin: every video, delete, totals, model usage, the mobs map, re-clustering.

Every route goes through the injected authorizer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Query

from milkmobs.api.auth import AdminAuthorizer
from milkmobs.api.errors import error_responses
from milkmobs.api.models import DeletedVideo, VideoList
from milkmobs.api.routes import DEFAULT_PAGE_SIZE, AppProvider, Cursor, Limit, VideoIdPath, new_router
from milkmobs.core.mob_map import DEFAULT_MAP_POINTS, MAX_MAP_POINTS, MobMap
from milkmobs.core.views import ClusteringReport
from milkmobs.domain import UsageReport, VideoStats, VideoStatus

#: Advertised in the OpenAPI document so clients know to send the token / the Cognito id token.
ADMIN_SECURITY: list[dict[str, list[str]]] = [{"adminAuth": []}]


def build_router(app: AppProvider, authorizer: AdminAuthorizer) -> Router:
    router = new_router()

    def require_admin(resolver: Any, next_middleware: NextMiddleware) -> Response[Any]:
        # Raises UnauthorizedError/ForbiddenError, which the one error mapping turns into 401/403.
        authorizer.authorize(resolver.current_event.raw_event)
        return next_middleware(resolver)

    guarded: dict[str, Any] = {"tags": ["admin"], "security": ADMIN_SECURITY, "middlewares": [require_admin]}

    @router.get(
        "/admin/videos",
        summary="Every video (?status= filters), newest first",
        responses={200: {"description": "OK"}, **error_responses(400, 401, 403)},
        **guarded,
        operation_id="admin_list_videos",
    )
    def admin_list_videos(
        status: Annotated[VideoStatus | None, Query(description="Only videos in this status")] = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Cursor = None,
    ) -> VideoList:
        page = app().admin_list_videos(status=status, limit=limit, cursor=cursor)
        return VideoList(videos=page.items, next_cursor=page.next_cursor)

    @router.delete(
        "/admin/videos/<videoId>",
        summary="Delete a video: record, every media version, thumbnail, vector; its mob's count drops",
        responses={200: {"description": "OK"}, **error_responses(401, 403, 404, 409)},
        **guarded,
        operation_id="admin_delete_video",
    )
    def admin_delete_video(videoId: VideoIdPath) -> DeletedVideo:
        video = app().delete_video(videoId)
        return DeletedVideo(video_id=video.video_id, video=video)

    @router.get(
        "/admin/stats",
        summary="Totals by status, active mobs, average validation score and time to validate",
        responses={200: {"description": "OK"}, **error_responses(401, 403)},
        **guarded,
        operation_id="admin_get_stats",
    )
    def admin_get_stats() -> VideoStats:
        return app().stats()

    @router.get(
        "/admin/usage-stats",
        summary="Per model: invocations, tokens, video seconds and estimated cost over a range",
        responses={200: {"description": "OK"}, **error_responses(400, 401, 403)},
        **guarded,
        operation_id="admin_get_usage_stats",
    )
    def admin_get_usage_stats(
        range_name: Annotated[Literal["1h", "24h", "7d", "30d"], Query(alias="range")] = "24h",
    ) -> UsageReport:
        return app().usage(range_name)

    @router.get(
        "/admin/mobs/map",
        summary="The newest validated videos projected to 2-D (PCA of their embeddings), each with its mob",
        responses={200: {"description": "OK"}, **error_responses(401, 403)},
        **guarded,
        operation_id="admin_get_mob_map",
    )
    def admin_get_mob_map(
        limit: Annotated[int, Query(ge=1, le=MAX_MAP_POINTS, description="Videos in the sample")] = DEFAULT_MAP_POINTS,
    ) -> MobMap:
        return app().mob_map(limit=limit)

    @router.post(
        "/admin/recluster",
        summary="Re-cluster every validated video now (what the hourly batch does); restartable",
        description=(
            "Spherical k-means over every validated embedding; mobs keep their ids where their members "
            "stay. A run interrupted anywhere is completed by the next one: records stay the truth, index "
            "rows and counts are rewritten from them."
        ),
        responses={200: {"description": "OK"}, **error_responses(401, 403, 409)},
        **guarded,
        operation_id="admin_recluster",
    )
    def admin_recluster() -> ClusteringReport:
        return app().recluster()

    return router
