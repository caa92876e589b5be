"""Media bytes in memory, with the signed upload policy and read URLs a local server checks.

URLs point at ``base_url`` (the ``milkmobs serve`` address): uploads are a form POST to
``{base_url}/uploads`` which the server hands to :meth:`InMemoryMediaStore.accept_upload`;
reads are ``GET {base_url}/media/{key}?expires=…&signature=…`` handed to
:meth:`InMemoryMediaStore.open_signed`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterable, Mapping
from datetime import timedelta
from urllib.parse import quote, urlencode

from milkmobs.domain import NotFoundError
from milkmobs.domain.errors import ConflictError, ForbiddenError, InvalidInputError, PayloadTooLargeError
from milkmobs.ports import Clock, StoredUpload, UploadPolicy, UploadTicket

THUMBNAIL_PREFIX = "thumbnails/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class InMemoryMediaStore:
    """A ServedMediaStore in process memory. Every ``put`` keeps a new version; ``delete`` drops them all."""

    def __init__(self, *, base_url: str, clock: Clock, secret: bytes | None = None, name: str = "media") -> None:
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._name = name
        self._objects: dict[str, list[tuple[bytes, str]]] = {}  # key -> versions, oldest first
        self._lock = threading.Lock()

    # -- plain storage -------------------------------------------------------------------

    def put(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> None:
        with self._lock:
            self._objects.setdefault(key, []).append((bytes(data), content_type))

    def put_once(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> StoredUpload:
        if not data:
            raise InvalidInputError(f"upload of {key} is empty", field="file")
        sha256 = hashlib.sha256(data).hexdigest()
        with self._lock:
            versions = self._objects.get(key)
            if versions:
                if hashlib.sha256(versions[-1][0]).hexdigest() != sha256:
                    raise ConflictError(
                        f"{key} already holds an accepted upload with other content; an accepted upload is "
                        "never replaced: submit a new video for new content"
                    )
                return StoredUpload(key=key, size_bytes=len(data), sha256=sha256, created=False)
            self._objects[key] = [(bytes(data), content_type)]
        return StoredUpload(key=key, size_bytes=len(data), sha256=sha256, created=True)

    def sha256_of(self, key: str, *, version: str | None = None) -> str:
        return hashlib.sha256(self.get(key)).hexdigest()

    def get(self, key: str) -> bytes:
        with self._lock:
            return self._latest(key)[0]

    def content_type(self, key: str) -> str:
        """The content type the latest version was stored with; NotFoundError if absent."""
        with self._lock:
            return self._latest(key)[1]

    def exists(self, key: str) -> bool:
        with self._lock:
            return key in self._objects

    def size(self, key: str) -> int:
        with self._lock:
            return len(self._latest(key)[0])

    def version_count(self, key: str) -> int:
        """How many versions of ``key`` are stored (0 once deleted)."""
        with self._lock:
            return len(self._objects.get(key, []))

    def uri(self, key: str) -> str:
        return f"memory://{self._name}/{key}"

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def put_thumbnail(self, video_id: str, data: bytes) -> str:
        key = f"{THUMBNAIL_PREFIX}{video_id}.jpg"
        self.put(key, data, content_type="image/jpeg")
        return key

    def _latest(self, key: str) -> tuple[bytes, str]:
        versions = self._objects.get(key)
        if not versions:
            raise NotFoundError(f"media object {key} not found")
        return versions[-1]

    # -- signed URLs ---------------------------------------------------------------------

    def _sign(self, message: str) -> str:
        return _b64(hmac.new(self._secret, message.encode("utf-8"), hashlib.sha256).digest())

    def read_url(self, key: str, *, expires_in: int = 3600, version: str | None = None) -> str:
        # Uploads are never replaced (put_once), so the latest bytes of a video key are the accepted ones.
        expires = int((self._clock.now() + timedelta(seconds=expires_in)).timestamp())
        query = urlencode({"expires": str(expires), "signature": self._sign(f"GET\n{key}\n{expires}")})
        return f"{self._base_url}/media/{quote(key)}?{query}"

    def thumbnail_url(self, thumbnail_key: str, *, expires_in: int = 3600) -> str:
        return self.read_url(thumbnail_key, expires_in=expires_in)

    def open_signed(self, key: str, params: Mapping[str, str]) -> bytes:
        """The bytes behind a ``read_url``; ForbiddenError on a bad or expired signature."""
        expires, signature = params.get("expires", ""), params.get("signature", "")
        if not expires.isdigit() or not hmac.compare_digest(signature, self._sign(f"GET\n{key}\n{expires}")):
            raise ForbiddenError(f"the link to {key} is not valid; ask for a new one")
        if int(expires) < self._clock.now().timestamp():
            raise ForbiddenError(f"the link to {key} has expired; ask for a new one")
        return self.get(key)

    # -- presigned uploads ---------------------------------------------------------------

    def create_upload(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadTicket:
        if max_bytes < 1 or expires_in < 1:
            raise InvalidInputError("an upload needs max_bytes >= 1 and expires_in >= 1", field="upload")
        expires_at = self._clock.now() + timedelta(seconds=expires_in)
        policy = {
            "key": key,
            "contentType": content_type,
            "contentLengthRange": [1, max_bytes],
            "expires": int(expires_at.timestamp()),
        }
        encoded = _b64(json.dumps(policy, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        fields = {"key": key, "Content-Type": content_type, "policy": encoded, "signature": self._sign(encoded)}
        return UploadTicket(url=f"{self._base_url}/uploads", fields=fields, method="POST", expires_at=expires_at)

    def check_upload_form(self, fields: Mapping[str, str]) -> UploadPolicy:
        """Check the signed policy in ``fields`` before any file byte is read."""
        encoded, signature = fields.get("policy", ""), fields.get("signature", "")
        if not encoded or not hmac.compare_digest(signature, self._sign(encoded)):
            raise ForbiddenError("upload refused: the upload policy signature is not valid; request a new upload")
        try:
            policy = json.loads(_unb64(encoded))
            key, content_type = str(policy["key"]), str(policy["contentType"])
            _low, high = (int(x) for x in policy["contentLengthRange"])
            expires = int(policy["expires"])
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise ForbiddenError("upload refused: the upload policy is malformed") from exc
        if self._clock.now().timestamp() > expires:
            raise ForbiddenError(f"upload refused: the upload for {key} has expired; request a new upload")
        if fields.get("key") != key:
            raise ForbiddenError(f"upload refused: this upload only accepts key {key}")
        if fields.get("Content-Type") != content_type:
            raise InvalidInputError(f"upload refused: content type must be {content_type}", field="contentType")
        return UploadPolicy(key=key, content_type=content_type, max_bytes=high)

    def store_upload(self, policy: UploadPolicy, chunks: Iterable[bytes]) -> StoredUpload:
        """Collect ``chunks`` (this store keeps bytes in memory anyway), refusing past ``max_bytes``."""
        data = bytearray()
        for chunk in chunks:
            data += chunk
            if len(data) > policy.max_bytes:
                raise PayloadTooLargeError(
                    f"upload refused: more than {policy.max_bytes} bytes, the limit of its form", field="file"
                )
        return self.put_once(policy.key, bytes(data), content_type=policy.content_type)

    def accept_upload(self, fields: Mapping[str, str], data: bytes) -> str:
        """Check the signed policy in ``fields``, then store ``data`` (never replacing an accepted upload)."""
        return self.store_upload(self.check_upload_form(fields), [data]).key
