"""Workflow executions of a video, with their steps."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from milkmobs.api.errors import error_responses
from milkmobs.api.models import ExecutionHistory
from milkmobs.api.routes import AppProvider, VideoIdQuery, new_router


def build_router(app: AppProvider) -> Router:
    router = new_router()

    @router.get(
        "/execution-history",
        summary="The analysis executions of a video, newest first, each with its steps",
        tags=["executions"],
        responses={200: {"description": "OK"}, **error_responses(404)},
        operation_id="execution_history",
    )
    def execution_history(video_id: VideoIdQuery) -> ExecutionHistory:
        return ExecutionHistory(video_id=video_id, executions=app().execution_history(video_id))

    return router
