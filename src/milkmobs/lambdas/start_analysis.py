"""start-analysis: S3 "object created" notifications → the video is ``uploaded`` and its workflow starts.

Takes a batch of S3 records; keys that are not ``vid_*.mp4`` are ignored (the thumbnails share the
bucket); keys arrive URL-encoded and are decoded. Each record's ``versionId`` goes with it: the first
accepted version is pinned on the video, and a later version (the form posted again) is removed.
Idempotent: a repeated notification starts nothing
new (the core names the execution after the video). When ``MILKMOBS_AWS__THUMBNAIL_FUNCTION_NAME`` is set
(the deployed stack sets it), each started video's thumbnail is requested from generate-thumbnail
with an asynchronous invocation, as the seed's flow does; a thumbnail is cosmetic, so a failed
request is logged and never fails the upload.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from milkmobs.lambdas._runtime import app, lambda_handler, logger, settings

VIDEO_KEY = re.compile(r"^vid_[A-Za-z0-9_-]+\.mp4$")


def _objects(event: dict[str, Any]) -> list[tuple[str, int | None, str | None]]:
    """(decoded key, size, version id) of each ObjectCreated record (Powertools' S3 event classes)."""
    from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

    found: list[tuple[str, int | None, str | None]] = []
    for raw in event.get("Records") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("s3"), dict):
            continue  # not an S3 notification record
        record = S3EventRecord(raw)
        if not str(raw.get("eventName", "ObjectCreated")).startswith("ObjectCreated"):
            continue
        obj = record.s3.get_object
        size = obj.get("size")
        found.append(
            (
                unquote_plus(str(obj.get("key", ""))),
                int(size) if isinstance(size, int | float) else None,
                obj.version_id or None,
            )
        )
    return found


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from milkmobs.domain.errors import (  # lazily: the errors pull in the whole domain (cold start)
        ConflictError,
        InvalidInputError,
        NotFoundError,
    )

    started: list[str] = []
    ignored: list[str] = []
    rejected: list[dict[str, str]] = []
    for key, size, version in _objects(event):
        if not VIDEO_KEY.match(key):
            ignored.append(key)
            continue
        try:
            video = app().on_object_created(key, size, version=version)
        except (NotFoundError, ConflictError, InvalidInputError) as exc:
            # Permanent for this object (no record, wrong state, too large): retrying the batch cannot
            # help, so log it and go on. Transient errors propagate and S3's async retry runs again.
            logger.warning("start-analysis: %s refused: %s", key, exc.message)
            rejected.append({"key": key, "code": exc.code, "message": exc.message})
            continue
        if video is None:
            ignored.append(key)
        else:
            started.append(video.video_id)
    _request_thumbnails(started)
    logger.info("start-analysis: %d started, %d ignored, %d refused", len(started), len(ignored), len(rejected))
    return {"started": started, "ignored": ignored, "refused": rejected}


def _request_thumbnails(video_ids: list[str]) -> None:
    function_name = settings().aws.thumbnail_function_name
    if not function_name or not video_ids:
        return
    import json

    from botocore.exceptions import BotoCoreError, ClientError

    from milkmobs.adapters.aws.clients import AwsClients

    client = AwsClients(settings().aws.region).lambda_()
    for video_id in video_ids:
        try:
            client.invoke(
                FunctionName=function_name,
                InvocationType="Event",
                Payload=json.dumps({"videoId": video_id}).encode(),
            )
        except (BotoCoreError, ClientError) as exc:
            logger.warning("start-analysis: thumbnail request for %s failed: %s", video_id, exc)
