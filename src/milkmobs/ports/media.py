"""Media storage: uploads, video bytes, thumbnails, URLs."""

from __future__ import annotations

from collections.abc import Mapping
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


class MediaStore(Protocol):
    """Video files live at their key (``vid_<uuid>.mp4``); thumbnails under their own prefix."""

    def create_upload(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadTicket:
        """A presigned upload accepting exactly ``key``, ``content_type`` and 1..``max_bytes`` bytes."""
        ...

    def put(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> None: ...

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

    def read_url(self, key: str, *, expires_in: int = 3600) -> str:
        """A URL a browser can GET the object from."""
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

    def accept_upload(self, fields: Mapping[str, str], data: bytes) -> str:
        """Check the signed upload policy in ``fields`` (key, content type, 1..max bytes, expiry), store
        ``data`` atomically and return the key. InvalidInputError / PayloadTooLargeError / ForbiddenError
        otherwise, with nothing stored."""
        ...

    def open_signed(self, key: str, params: Mapping[str, str]) -> bytes:
        """The bytes behind a URL from ``read_url``/``thumbnail_url`` (``params`` = its query string);
        ForbiddenError on a bad or expired signature, NotFoundError if gone."""
        ...
