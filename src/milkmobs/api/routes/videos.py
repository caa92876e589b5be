"""Videos: submit, a user's videos, one video."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from milkmobs.api.errors import error_responses
from milkmobs.api.models import SubmitBody, VideoList
from milkmobs.api.routes import DEFAULT_PAGE_SIZE, AppProvider, Cursor, Limit, VideoIdPath, new_router
from milkmobs.core.views import Submission, SubmitRequest, VideoView


def build_router(app: AppProvider) -> Router:
    router = new_router()

    @router.post(
        "/videos/submit",
        status_code=201,
        summary="Create a video record and its upload form",
        description="The answer's `upload` is a form POST (fields + the file last) that accepts exactly one "
        "video/mp4 file of at most the configured size; uploading it starts the analysis. Send an "
        "`Idempotency-Key` to retry safely: the same key with the same body answers the same video (with a "
        "fresh form); with another body it is a 409 `idempotency_key_reused`. A `contentSha256` this user "
        "already uploaded is a 409 `duplicate_content` naming that video (`videoId`), and nothing is created.",
        tags=["videos"],
        responses={201: {"description": "Created"}, **error_responses(400, 409, 413, 415)},
        operation_id="submit_video",
    )
    def submit_video(
        body: SubmitBody,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=255,
                pattern=r"^[\x21-\x7e]+$",
                description="Any unique string per intended video (e.g. a UUID); a retry sends the same one",
            ),
        ] = None,
    ) -> Submission:
        request = SubmitRequest.model_validate(body.model_dump())
        return app().submit_video(request, idempotency_key=idempotency_key)

    @router.get(
        "/videos/user",
        summary="A user's videos, newest first",
        tags=["videos"],
        responses={200: {"description": "OK"}, **error_responses(400)},
        operation_id="list_user_videos",
    )
    def list_user_videos(
        user_id: Annotated[str, Query(alias="userId", min_length=1, max_length=128)],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Cursor = None,
    ) -> VideoList:
        page = app().list_user_videos(user_id, limit=limit, cursor=cursor)
        return VideoList(videos=page.items, next_cursor=page.next_cursor)

    @router.get(
        "/videos/<videoId>",
        summary="One video: status, analysis, validation, mob and media URLs",
        tags=["videos"],
        responses={200: {"description": "OK"}, **error_responses(404)},
        operation_id="get_video",
    )
    def get_video(videoId: VideoIdPath) -> VideoView:
        return app().get_video(videoId)

    return router
