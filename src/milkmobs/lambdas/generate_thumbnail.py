"""generate-thumbnail: a JPEG of a representative frame, stored next to the video.

Invoked asynchronously with ``{"videoId": ...}`` (by start-analysis, or by hand to regenerate one).
Answers ``{"videoId", "thumbnailKey"}``; ``thumbnailKey`` is null when no media processor is
configured or the file has no decodable frame (the core logs why: a thumbnail is cosmetic).
"""

from __future__ import annotations

from typing import Any

from milkmobs.lambdas._runtime import app, lambda_handler, logger


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from milkmobs.domain import InvalidInputError  # lazily: the errors pull in the whole domain (cold start)

    video_id = event.get("videoId")
    if not isinstance(video_id, str) or not video_id:
        raise InvalidInputError("generate-thumbnail needs {'videoId': '<id>'}", field="videoId")
    video = app().make_thumbnail(video_id)
    key = video.thumbnail_key if video is not None else None
    logger.info("thumbnail for %s: %s", video_id, key or "none")
    return {"videoId": video_id, "thumbnailKey": key}
