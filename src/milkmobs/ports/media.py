"""Media storage: uploads, video bytes, thumbnails, URLs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import Field

from milkmobs.domain.base import DomainModel


class UploadTicket(DomainModel):
    """How a client uploads the file: a form POST of ``fields`` plus the file to ``url``."""

    url: str
    fields: dict[str, str] = Field(default_factory=dict)
    method: str = "POST"
    expires_at: datetime


class UploadPolicy(DomainModel):
    """What a checked upload form allows: exactly ``key``, ``content_type`` and 1..``max_bytes`` bytes."""

    key: str
    content_type: str
    max_bytes: int


class StoredUpload(DomainModel):
    """An accepted upload. ``created`` is False when identical bytes were already stored under the key
    (a retried upload: nothing was rewritten). ``version`` is the store's version id where it keeps
    versions (S3), else None."""

    key: str
    size_bytes: int
    sha256: str
    version: str | None = None
    created: bool = True


class MediaStore(Protocol):
    """Video files live at their key (``vid_<uuid>.mp4``); thumbnails under their own prefix.

    An accepted video upload is never replaced: ``put_once`` and the served upload path refuse
    different bytes under a stored key (ConflictError) and answer identical bytes without rewriting.
    """

    def create_upload(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadTicket:
        """A presigned upload accepting exactly ``key``, ``content_type`` and 1..``max_bytes`` bytes."""
        ...

    def put(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> None:
        """Store ``data`` at ``key`` (thumbnails, fixtures); replaces what is there."""
        ...

    def put_once(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> StoredUpload:
        """Store ``data`` at ``key`` only if nothing is stored there. Identical bytes already stored:
        ``created=False``, nothing written. Other bytes: ConflictError, nothing written."""
        ...

    def sha256_of(self, key: str, *, version: str | None = None) -> str:
        """Hex SHA-256 of the stored bytes (read in chunks); NotFoundError if absent."""
        ...

    def get(self, key: str) -> bytes:
        """NotFoundError if absent."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """Size in bytes; NotFoundError if absent."""
        ...

    def uri(self, key: str) -> str:
        """Where a model reads the object from (``s3://bucket/key``, ``file:///…``, ``memory://…``)."""
        ...

    def read_url(self, key: str, *, expires_in: int = 3600, version: str | None = None) -> str:
        """A URL a browser can GET the object from (that exact ``version`` where the store keeps versions)."""
        ...

    def put_thumbnail(self, video_id: str, data: bytes) -> str:
        """Store a JPEG thumbnail; returns its key."""
        ...

    def thumbnail_url(self, thumbnail_key: str, *, expires_in: int = 3600) -> str: ...

    def delete(self, key: str) -> None:
        """Remove every stored version of ``key``; no error if it is already gone."""
        ...


@runtime_checkable
class ServedMediaStore(MediaStore, Protocol):
    """A media store whose uploads and reads are served by ``milkmobs serve`` itself (local, memory).

    S3 serves its own presigned URLs, so the AWS store does not implement this.
    """

    def check_upload_form(self, fields: Mapping[str, str]) -> UploadPolicy:
        """Check the signed upload policy in ``fields`` (signature, expiry, key, content type) before any
        file byte is read. ForbiddenError / InvalidInputError otherwise."""
        ...

    def store_upload(self, policy: UploadPolicy, chunks: Iterable[bytes]) -> StoredUpload:
        """Stream ``chunks`` into place under ``policy.key`` (O(chunk) memory), never replacing an
        accepted upload (see ``put_once``). PayloadTooLargeError past ``max_bytes``, InvalidInputError
        when empty: nothing is stored and no partial file is left."""
        ...

    def accept_upload(self, fields: Mapping[str, str], data: bytes) -> str:
        """``check_upload_form`` then ``store_upload`` of ``data``; returns the key."""
        ...

    def open_signed(self, key: str, params: Mapping[str, str]) -> bytes:
        """The bytes behind a URL from ``read_url``/``thumbnail_url`` (``params`` = its query string);
        ForbiddenError on a bad or expired signature, NotFoundError if gone."""
        ...


@runtime_checkable
class VersionedMediaStore(MediaStore, Protocol):
    """A store that keeps every write as a version (S3 with versioning): a presigned form can be posted
    again, so the core pins the accepted version and removes later ones."""

    def delete_version(self, key: str, version: str) -> None:
        """Remove exactly that version of ``key``; no error if it is already gone."""
        ...

    def current_version(self, key: str) -> str | None:
        """The version id of what a plain read of ``key`` returns now; NotFoundError if absent."""
        ...
