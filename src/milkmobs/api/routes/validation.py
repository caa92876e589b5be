"""Validation results: re-run, and read."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from milkmobs.api.errors import error_responses
from milkmobs.api.models import ValidateBody
from milkmobs.api.routes import AppProvider, VideoIdPath, new_router
from milkmobs.domain import ValidationResult


def build_router(app: AppProvider) -> Router:
    router = new_router()

    @router.post(
        "/validate",
        summary="Re-run validation on the stored analysis of a video",
        tags=["validation"],
        responses={200: {"description": "OK"}, **error_responses(400, 404, 409, 415)},
        operation_id="revalidate",
    )
    def revalidate(body: ValidateBody) -> ValidationResult:
        return app().revalidate(body.video_id)

    @router.get(
        "/validate/<videoId>",
        summary="A video's validation result: score, pass/fail, breakdown, reasons",
        tags=["validation"],
        responses={200: {"description": "OK"}, **error_responses(404, 409)},
        operation_id="get_validation",
    )
    def get_validation(videoId: VideoIdPath) -> ValidationResult:
        return app().get_validation(videoId)

    return router
