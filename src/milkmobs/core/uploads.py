"""Submitting a video and reacting to its upload.

Every check runs before anything is written, so refused input leaves the stores unchanged.

An accepted upload is pinned: the record keeps its hash (and its version where the media store keeps
versions), the stores never replace it, and on a versioned store (S3, whose presigned POST form stays
valid until it expires) a later version is removed when its object-created event arrives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re

from milkmobs.core.config import CoreConfig
from milkmobs.core.optimistic import update_video
from milkmobs.core.pipeline import mark_failed
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import (
    ConflictError,
    DuplicateContentError,
    Failure,
    IdempotencyKeyReusedError,
    InvalidInputError,
    MediaError,
    NotFoundError,
    PayloadTooLargeError,
    Video,
    VideoStatus,
    normalize_hashtags,
)
from milkmobs.domain.text import checked_text
from milkmobs.ports import Claim, UploadTicket, VersionedMediaStore, Workflow

log = logging.getLogger(__name__)

VIDEO_CONTENT_TYPE = "video/mp4"
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_USER_ID_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_SHA256 = re.compile(r"[0-9a-f]{64}")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces (a header value)
#: ``vid_<id>.mp4`` at the top of the bucket (ids are uuid hex, or any safe token in tests).
_VIDEO_KEY = re.compile(r"^vid_(?P<video_id>[A-Za-z0-9][A-Za-z0-9_-]{0,127})\.mp4$")


def media_key_for(video_id: str) -> str:
    """The media key of a video: ``vid_<id>.mp4``."""
    return f"vid_{video_id}.mp4"


def video_id_from_key(key: str) -> str | None:
    """The video id in a ``vid_<id>.mp4`` key; None for any other key."""
    match = _VIDEO_KEY.match(key)
    return match.group("video_id") if match else None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def checked_request(request: SubmitRequest, config: CoreConfig) -> tuple[str, str, str, list[str], int | None]:
    """(user id, title, description, hashtags, declared size) or InvalidInputError naming the field."""
    user_id = checked_text((request.user_id or "").strip(), field="userId")
    if not user_id:
        raise InvalidInputError("userId is required", field="userId")
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise InvalidInputError(f"userId is longer than {MAX_USER_ID_LENGTH} characters", field="userId")
    content_type = (request.content_type or VIDEO_CONTENT_TYPE).strip().lower()
    if content_type != VIDEO_CONTENT_TYPE:
        raise InvalidInputError(
            f"contentType must be {VIDEO_CONTENT_TYPE}, got {request.content_type!r}", field="contentType"
        )
    size = request.size_bytes
    if size is not None:
        if size <= 0:
            raise InvalidInputError(f"sizeBytes must be positive, got {size}", field="sizeBytes")
        if size > config.max_upload_bytes:
            raise PayloadTooLargeError(
                f"the video is {_mb(size)}; the limit is {_mb(config.max_upload_bytes)}", field="sizeBytes"
            )
    title = checked_text((request.title or "").strip(), field="title")
    if len(title) > MAX_TITLE_LENGTH:
        raise InvalidInputError(f"title is longer than {MAX_TITLE_LENGTH} characters", field="title")
    description = checked_text((request.description or "").strip(), field="description")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInputError(f"description is longer than {MAX_DESCRIPTION_LENGTH} characters", field="description")
    return user_id, title, description, normalize_hashtags(request.hashtags), size


def _checked_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    digest = value.strip().lower()
    if not _SHA256.fullmatch(digest):
        raise InvalidInputError("contentSha256 must be 64 hexadecimal characters (a SHA-256)", field="contentSha256")
    return digest


def _checked_idempotency_key(value: str) -> str:
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidInputError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces",
            field="Idempotency-Key",
        )
    return value


def _content_scope(user_id: str) -> str:
    return f"content/{user_id}"


def _live_video(ports: CorePorts, video_id: str) -> Video | None:
    """The video if it exists and has not failed (a failed or deleted video frees its claims)."""
    try:
        video = ports.videos.get(video_id)
    except NotFoundError:
        return None
    return None if video.status is VideoStatus.FAILED else video


def _duplicate_message(user_id: str, existing: str) -> str:
    return (
        f"user {user_id} already uploaded this exact file as video {existing}; "
        f"see GET /videos/{existing} (submit other content for a new video)"
    )


def find_upload(ports: CorePorts, user_id: str, sha256: str) -> Video | None:
    """The user's live video whose accepted upload has this SHA-256, if any."""
    held = ports.claims.get(_content_scope(user_id), sha256.lower())
    return _live_video(ports, held.video_id) if held is not None else None


def _request_fingerprint(*values: object) -> str:
    return hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()


def submit_video(
    ports: CorePorts, config: CoreConfig, request: SubmitRequest, *, idempotency_key: str | None = None
) -> tuple[Video, UploadTicket]:
    """A ``pending_upload`` record and a presigned upload for ``vid_<id>.mp4`` that accepts only
    video/mp4 up to the declared size (capped by the limit), or the limit.

    ``idempotency_key``: a retried submit with the same key and the same request answers the video
    the first one created (with a fresh upload form); the same key with another request is an
    IdempotencyKeyReusedError. A declared ``content_sha256`` the user already uploaded is a
    DuplicateContentError naming that video, before anything is written.
    """
    user_id, title, description, hashtags, size = checked_request(request, config)
    declared = _checked_sha256(request.content_sha256)
    if declared is not None and (known := find_upload(ports, user_id, declared)) is not None:
        raise DuplicateContentError(_duplicate_message(user_id, known.video_id), video_id=known.video_id)
    video_id = ports.ids.new_id()
    if idempotency_key is not None:
        key = _checked_idempotency_key(idempotency_key)
        fingerprint = _request_fingerprint(user_id, title, description, hashtags, size, declared)
        now = ports.clock.now()
        mine = Claim(scope=f"submit/{user_id}", key=key, fingerprint=fingerprint, video_id=video_id, created_at=now)
        held = ports.claims.claim(mine)
        if held.fingerprint != fingerprint:
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key {key!r} was first used for another request (video {held.video_id}); "
                "use a new key for a new video",
                field="Idempotency-Key",
                video_id=held.video_id,
            )
        if held.video_id != video_id:
            try:
                earlier = ports.videos.get(held.video_id)
            except NotFoundError:
                video_id = held.video_id  # the first submit stopped before its record: finish it
            else:
                return earlier, _ticket(ports, config, earlier)
    key_name = media_key_for(video_id)
    max_bytes = min(size, config.max_upload_bytes) if size is not None else config.max_upload_bytes
    # The ticket first: if the media store is down, no orphan record is left behind.
    ticket = ports.media.create_upload(
        key_name, content_type=VIDEO_CONTENT_TYPE, max_bytes=max_bytes, expires_in=config.upload_url_expires_seconds
    )
    now = ports.clock.now()
    video = Video(
        video_id=video_id,
        user_id=user_id,
        title=title,
        description=description,
        hashtags=hashtags,
        media_key=key_name,
        content_type=VIDEO_CONTENT_TYPE,
        declared_size_bytes=size,
        content_sha256=declared,
        created_at=now,
        updated_at=now,
    )
    try:
        ports.videos.add(video)
    except ConflictError:
        if idempotency_key is None:
            raise
        return ports.videos.get(video_id), ticket  # a concurrent retry of the same submit made it first
    return video, ticket


def _ticket(ports: CorePorts, config: CoreConfig, video: Video) -> UploadTicket:
    return ports.media.create_upload(
        video.media_key,
        content_type=VIDEO_CONTENT_TYPE,
        max_bytes=_upload_limit(video, config),
        expires_in=config.upload_url_expires_seconds,
    )


def _upload_limit(video: Video, config: CoreConfig) -> int:
    declared = video.declared_size_bytes
    return min(declared, config.max_upload_bytes) if declared is not None else config.max_upload_bytes


def on_object_created(
    ports: CorePorts,
    config: CoreConfig,
    workflow: Workflow,
    key: str,
    size_bytes: int | None = None,
    *,
    version: str | None = None,
    sha256: str | None = None,
) -> Video | None:
    """An object was stored at ``key`` (``version``: its version id on a versioned store). Not
    ``vid_*.mp4``: ignored (None). Otherwise the video goes ``pending_upload → uploaded``, pinned to this
    version and content hash, and its workflow starts (execution named by the video id).

    Idempotent: on a video already past ``pending_upload`` nothing changes, and starting its workflow
    again (in case a crash came between the two) is a no-op of the idempotent start. A version other
    than the pinned one is a later upload through a still-valid form: it is removed. An empty or
    oversized object fails the video with a readable reason instead.
    """
    video_id = video_id_from_key(key)
    if video_id is None:
        return None
    video = ports.videos.get(video_id)
    if video.media_key != key:
        raise InvalidInputError(f"object {key} does not belong to video {video_id}", field="key")
    if video.status is not VideoStatus.PENDING_UPLOAD:
        _remove_unpinned_version(ports, video, version)
        if video.status is VideoStatus.UPLOADED:
            workflow.start(video_id)
        return video
    size = size_bytes if size_bytes is not None else ports.media.size(key)
    limit = _upload_limit(video, config)
    if size <= 0:
        return mark_failed(
            ports, video_id, step="upload", error="the uploaded file is empty", error_type=InvalidInputError.__name__
        )
    if size > limit:
        reason = f"the uploaded file is {_mb(size)} ({size} bytes), above the allowed {_mb(limit)} ({limit} bytes)"
        return mark_failed(ports, video_id, step="upload", error=reason, error_type=PayloadTooLargeError.__name__)
    digest = sha256 if sha256 is not None else ports.media.sha256_of(key, version=version)
    if video.content_sha256 is not None and video.content_sha256 != digest:
        reason = f"the uploaded file (SHA-256 {digest}) is not the one declared at submit ({video.content_sha256})"
        return mark_failed(ports, video_id, step="upload", error=reason, error_type=InvalidInputError.__name__)
    duplicate_of = _claim_content(ports, video, digest)
    if duplicate_of is not None:
        # Recognised, never stored twice: this record fails naming the first, its copy of the bytes goes.
        message = _duplicate_message(video.user_id, duplicate_of)
        now = ports.clock.now()
        failure = Failure(step="upload", error=message, error_type=DuplicateContentError.__name__, at=now)

        def refuse(current: Video) -> Video | None:
            if current.status is not VideoStatus.PENDING_UPLOAD:
                return None  # a concurrent event for this object settled it
            # The record keeps the hash it was refused for, so clients can match it to their file.
            return current.transitioned(
                VideoStatus.FAILED, at=now, failure=failure, completed_at=now, content_sha256=digest
            )

        update_video(ports, video_id, refuse, first=video)
        ports.media.delete(key)
        raise DuplicateContentError(message, video_id=duplicate_of)
    now = ports.clock.now()

    def accept(current: Video) -> Video | None:
        if current.status is not VideoStatus.PENDING_UPLOAD:
            return None  # a concurrent event won the race and pinned its version: it starts the workflow
        return current.accepted_upload(at=now, version=version, sha256=digest)

    saved = update_video(ports, video_id, accept, first=video)
    if not saved.written:
        _remove_unpinned_version(ports, saved.record, version)
        return saved.record
    uploaded = saved.record
    # The thumbnail is cosmetic and made before the workflow starts, so the two never write the
    # record at the same time.
    uploaded = make_thumbnail(ports, uploaded) or uploaded
    workflow.start(video_id)
    return uploaded


def _claim_content(ports: CorePorts, video: Video, digest: str) -> str | None:
    """Claim ``digest`` for this video among its user's uploads; the id of the live video that already
    holds it, else None. A claim left by a deleted or failed video is released and taken over."""
    scope = _content_scope(video.user_id)
    for _ in range(5):
        mine = Claim(scope=scope, key=digest, fingerprint=digest, video_id=video.video_id, created_at=ports.clock.now())
        held = ports.claims.claim(mine)
        if held.video_id == video.video_id:
            return None
        if _live_video(ports, held.video_id) is not None:
            return held.video_id
        ports.claims.release(scope, digest, video_id=held.video_id)
    raise ConflictError(f"video {video.video_id}: its content claim kept changing; retry", video_id=video.video_id)


def _remove_unpinned_version(ports: CorePorts, video: Video, version: str | None) -> None:
    """Remove ``version`` of the video's media if it is not the accepted (pinned) one."""
    if version is None or video.media_version is None or version == video.media_version:
        return
    if isinstance(ports.media, VersionedMediaStore):
        ports.media.delete_version(video.media_key, version)
        log.warning(
            "video %s: removed version %s of %s, posted after the upload was accepted (pinned: %s)",
            video.video_id,
            version,
            video.media_key,
            video.media_version,
        )


def make_thumbnail(ports: CorePorts, video: Video) -> Video | None:
    """Generate and store a thumbnail when a media processor is configured; None otherwise. An
    undecodable file is logged (the MarkProcessing probe fails the video with the reason)."""
    if ports.media_processor is None:
        return None
    try:
        jpeg = ports.media_processor.thumbnail(video)
    except MediaError as exc:
        log.warning("no thumbnail for video %s: %s", video.video_id, exc)
        return None
    return set_thumbnail(ports, video.video_id, jpeg)


def set_thumbnail(ports: CorePorts, video_id: str, jpeg: bytes) -> Video:
    """Store ``jpeg`` as the video's thumbnail and point the record at it."""
    if not jpeg:
        raise InvalidInputError("the thumbnail is empty", field="thumbnail")
    video = ports.videos.get(video_id)
    key = ports.media.put_thumbnail(video_id, jpeg)

    def store(current: Video) -> Video:
        return current.with_thumbnail(key, at=ports.clock.now())

    return update_video(ports, video_id, store, first=video).record


def upload_video(ports: CorePorts, config: CoreConfig, workflow: Workflow, video_id: str, data: bytes) -> Video:
    """Store the bytes of a ``pending_upload`` video, then handle the upload as the media event would.
    Empty or oversized data is refused before anything is stored. Retrying with the bytes already
    accepted answers the video unchanged; other bytes are a ConflictError (an upload is pinned)."""
    video = ports.videos.get(video_id)
    if video.status is not VideoStatus.PENDING_UPLOAD:
        if video.content_sha256 is not None and video.content_sha256 == hashlib.sha256(data).hexdigest():
            return video  # a retry of the accepted upload (its answer was lost): nothing to do
        raise ConflictError(
            f"video {video_id} is {video.status.value} and its upload is already accepted; "
            "submit a new video for other content",
            video_id=video_id,
        )
    if not data:
        raise InvalidInputError("the uploaded file is empty", field="file")
    limit = _upload_limit(video, config)
    if len(data) > limit:
        raise PayloadTooLargeError(f"the file is {_mb(len(data))}; this upload allows {_mb(limit)}", field="file")
    stored = ports.media.put_once(video.media_key, data, content_type=VIDEO_CONTENT_TYPE)
    result = on_object_created(
        ports, config, workflow, video.media_key, stored.size_bytes, version=stored.version, sha256=stored.sha256
    )
    if result is None:  # cannot happen for our own keys; keep the type honest
        raise NotFoundError(f"video {video_id} vanished during its upload", video_id=video_id)
    return ports.videos.get(video_id)
