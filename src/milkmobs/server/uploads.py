"""``POST /uploads``: the presigned-form target the local server plays for S3.

Checked first, streamed after: the form's signed policy (signature, expiry, key, content type) is
verified from the fields that precede the file before one file byte is read; the video must exist;
then the file streams to a locked temp file in chunks (O(chunk) memory per upload, whatever its size)
and is linked into place only if nothing is stored under the key yet. Identical bytes posted again
(a retry whose answer was lost) are answered 204 without rewriting; other bytes are a 409. Nothing is
stored on any error, and no partial file stays behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from milkmobs.core.service import MilkMobs
from milkmobs.core.uploads import video_id_from_key
from milkmobs.domain import ConflictError, InvalidInputError, NotFoundError, PayloadTooLargeError, VideoStatus
from milkmobs.ports import ServedMediaStore
from milkmobs.server.multipart import MultipartReader

logger = logging.getLogger("milkmobs.server")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
#: Room for the form fields around the file, on top of the configured maximum video size.
FORM_OVERHEAD_BYTES = 64 * 1024


def served_store(app: MilkMobs) -> ServedMediaStore:
    """The media store whose uploads and reads this server answers; NotFoundError for S3."""
    store = app.ports.media
    if not isinstance(store, ServedMediaStore):
        raise NotFoundError("this backend's media store serves its own uploads and reads (S3): not served here")
    return store


def content_length(environ: dict[str, Any], *, limit: int) -> int:
    """The request's declared body length; PayloadTooLargeError above ``limit`` (nothing read yet)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise InvalidInputError("Content-Length is not a number", field="content-length") from exc
    if length > limit:
        raise PayloadTooLargeError(f"the request body is {length} bytes; at most {limit} are accepted")
    return length


class UploadEndpoint:
    """WSGI handler for ``POST /uploads`` (errors propagate as MilkmobsError to the caller's mapping)."""

    def __init__(self, app: Callable[[], MilkMobs], *, max_upload_bytes: int) -> None:
        self._app = app
        self._max_body = max_upload_bytes + FORM_OVERHEAD_BYTES

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        app = self._app()
        store = served_store(app)
        length = content_length(environ, limit=self._max_body)
        form = MultipartReader(environ["wsgi.input"], str(environ.get("CONTENT_TYPE", "")), length)
        # As S3: only the fields before the file count, and field names are case-sensitive.
        policy = store.check_upload_form(form.fields_before())
        video_id = video_id_from_key(policy.key)
        if video_id is not None:
            record = app.ports.videos.get(video_id)  # a deleted video's form stores nothing (NotFoundError)
            if record.status is VideoStatus.FAILED:  # e.g. refused as a duplicate: its form stores nothing either
                reason = record.failure.error if record.failure else "it failed"
                raise ConflictError(f"video {video_id} failed ({reason}); submit a new video", video_id=video_id)
        stored = store.store_upload(policy, form.file_chunks())
        video = app.on_object_created(stored.key, stored.size_bytes, version=stored.version, sha256=stored.sha256)
        logger.info(
            "upload of %s %s (%d bytes)%s",
            stored.key,
            "stored" if stored.created else "already stored with these bytes",
            stored.size_bytes,
            f"; video {video.video_id} is {video.status.value}" if video else "",
        )
        start_response("204 No Content", [("Location", f"/media/{stored.key}")])
        return []
