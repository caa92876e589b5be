"""S3 ``MediaStore``: presigned POST uploads, presigned GET or CloudFront reads, versioned deletes.

S3 refuses overwrites only for PutObject and CompleteMultipartUpload (``If-None-Match: *``); a
presigned POST form cannot carry that condition and stays valid until it expires. So the bucket keeps
versions: the core pins the version its object-created handler accepted, reads that version, and
removes any later one (``delete_version``). ``put_once`` (the library's own uploads) is a conditional
PutObject.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws.errors import common_translation, error_code, transport_error
from milkmobs.domain.errors import ConfigurationError, ConflictError, InvalidInputError, MilkmobsError, NotFoundError
from milkmobs.ports import StoredUpload, UploadTicket

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

THUMBNAIL_PREFIX = "thumbnails/"
_DELETE_BATCH = 1000  # DeleteObjects accepts at most 1,000 keys per call
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})
_EXISTS_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
_HASH_CHUNK = 1024 * 1024


def _translate(exc: ClientError, *, bucket: str, key: str | None, doing: str) -> MilkmobsError:
    """The milkmobs error for an S3 ClientError."""
    code = error_code(exc)
    if code in _MISSING_CODES:
        return NotFoundError(f"{doing}: s3://{bucket}/{key} does not exist")
    if code == "NoSuchBucket":
        return ConfigurationError(
            f"{doing}: bucket '{bucket}' does not exist; deploy the stack or set MILKMOBS_AWS__MEDIA_BUCKET"
        )
    if code in {"EntityTooLarge", "EntityTooSmall", "InvalidArgument"}:
        return InvalidInputError(f"{doing}: S3 refused the object ({code})")
    return common_translation(exc, doing=f"{doing} (s3://{bucket}/{key or ''})")


class S3MediaStore:
    """Videos at ``vid_<uuid>.mp4`` and thumbnails under ``thumbnails/`` in one versioned bucket.

    Uploads are SigV4 presigned POSTs whose policy pins the exact key, the content type and a
    ``content-length-range`` of 1..``max_bytes``, so S3 itself refuses anything else. Reads are
    presigned GETs, or plain CloudFront URLs when ``cloudfront_domain`` is set (the distribution
    reaches the bucket through origin access control and keeps it private).
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        cloudfront_domain: str | None = None,
        expected_bucket_owner: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._cloudfront = cloudfront_domain.strip().removeprefix("https://").strip("/") if cloudfront_domain else None
        # ExpectedBucketOwner makes S3 refuse the call if the bucket name was taken by another account
        self._owner: dict[str, Any] = {"ExpectedBucketOwner": expected_bucket_owner} if expected_bucket_owner else {}
        self._now = now or (lambda: datetime.now(UTC))

    def _call(self, doing: str, key: str | None, method: Callable[..., Any], **request: Any) -> Any:
        try:
            return method(Bucket=self._bucket, **self._owner, **request)
        except ClientError as exc:
            raise _translate(exc, bucket=self._bucket, key=key, doing=doing) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"{doing} (s3://{self._bucket}/{key or ''})") from exc

    def create_upload(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadTicket:
        """A presigned POST accepting exactly ``key``, ``content_type`` and 1..``max_bytes`` bytes."""
        if max_bytes < 1:
            raise InvalidInputError(f"the upload limit must be at least 1 byte, got {max_bytes}", field="sizeBytes")
        expires_at = self._now() + timedelta(seconds=expires_in)
        try:
            # boto3 adds the bucket and exact-key conditions itself; we add the type and size
            post = self._client.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
                ExpiresIn=expires_in,
            )
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"signing the upload of {key}") from exc
        return UploadTicket(
            url=post["url"], fields={k: str(v) for k, v in post["fields"].items()}, method="POST", expires_at=expires_at
        )

    def put(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> None:
        self._call(f"storing {key}", key, self._client.put_object, Key=key, Body=data, ContentType=content_type)

    def put_once(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> StoredUpload:
        """A conditional PutObject (``If-None-Match: *``): never replaces what is stored at ``key``."""
        if not data:
            raise InvalidInputError(f"upload of {key} is empty", field="file")
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            response = self._client.put_object(
                Bucket=self._bucket, Key=key, Body=data, ContentType=content_type, IfNoneMatch="*", **self._owner
            )
        except ClientError as exc:
            if error_code(exc) not in _EXISTS_CODES:
                raise _translate(exc, bucket=self._bucket, key=key, doing=f"storing {key}") from exc
            if self.sha256_of(key) != sha256:
                raise ConflictError(
                    f"{key} already holds an accepted upload with other content; an accepted upload is never "
                    "replaced: submit a new video for new content"
                ) from exc
            return StoredUpload(
                key=key, size_bytes=len(data), sha256=sha256, version=self.current_version(key), created=False
            )
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"storing {key} (s3://{self._bucket}/{key})") from exc
        version = response.get("VersionId")
        return StoredUpload(key=key, size_bytes=len(data), sha256=sha256, version=str(version) if version else None)

    def sha256_of(self, key: str, *, version: str | None = None) -> str:
        """Hex SHA-256 of the object (that version), streamed in 1 MiB chunks: memory stays flat."""
        request: dict[str, Any] = {"Key": key, **({"VersionId": version} if version else {})}
        response = self._call(f"reading {key}", key, self._client.get_object, **request)
        digest = hashlib.sha256()
        body = response["Body"]
        try:
            for chunk in body.iter_chunks(_HASH_CHUNK):
                digest.update(chunk)
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"reading {key} (s3://{self._bucket}/{key})") from exc
        finally:
            body.close()
        return digest.hexdigest()

    def current_version(self, key: str) -> str | None:
        """The version id a plain GET of ``key`` returns now (None on an unversioned bucket)."""
        version = self._call(f"checking {key}", key, self._client.head_object, Key=key).get("VersionId")
        return str(version) if version and version != "null" else None

    def delete_version(self, key: str, version: str) -> None:
        """Remove exactly one version (a later upload through a still-valid form); idempotent."""
        try:
            self._call(
                f"removing version {version} of {key}", key, self._client.delete_object, Key=key, VersionId=version
            )
        except NotFoundError:
            return

    def get(self, key: str) -> bytes:
        """The object's bytes; NotFoundError if absent."""
        response = self._call(f"reading {key}", key, self._client.get_object, Key=key)
        body: bytes = response["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        try:
            self._call(f"checking {key}", key, self._client.head_object, Key=key)
        except NotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        """Size in bytes (HeadObject); NotFoundError if absent."""
        return int(self._call(f"sizing {key}", key, self._client.head_object, Key=key)["ContentLength"])

    def uri(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"

    def read_url(self, key: str, *, expires_in: int = 3600, version: str | None = None) -> str:
        """A presigned GET of ``version`` (the pinned upload) when given, else of the latest. A CloudFront
        URL when a distribution is configured: its origin access grants s3:GetObject on the latest only,
        which is the pinned version because the object-created handler removes any later one."""
        if self._cloudfront:
            return f"https://{self._cloudfront}/{quote(key)}"
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key, **({"VersionId": version} if version else {})}
        try:
            url: str = self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"signing a read URL for {key}") from exc
        return url

    def put_thumbnail(self, video_id: str, data: bytes) -> str:
        """Store the JPEG at ``thumbnails/<video_id>.jpg`` and return that key."""
        key = f"{THUMBNAIL_PREFIX}{video_id}.jpg"
        self.put(key, data, content_type="image/jpeg")
        return key

    def thumbnail_url(self, thumbnail_key: str, *, expires_in: int = 3600) -> str:
        return self.read_url(thumbnail_key, expires_in=expires_in)

    def delete(self, key: str) -> None:
        """Delete every version and delete marker of exactly ``key`` (idempotent)."""
        doing = f"deleting every version of {key}"
        targets: list[dict[str, str]] = []
        try:
            paginator = self._client.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=self._bucket, Prefix=key, **self._owner):
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    if entry.get("Key") == key:  # the prefix also matches longer keys
                        targets.append({"Key": key, "VersionId": str(entry.get("VersionId", "null"))})
        except ClientError as exc:
            raise _translate(exc, bucket=self._bucket, key=key, doing=doing) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=doing) from exc
        for start in range(0, len(targets), _DELETE_BATCH):
            batch = targets[start : start + _DELETE_BATCH]
            response = self._call(doing, key, self._client.delete_objects, Delete={"Objects": batch, "Quiet": True})
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise common_translation(
                    ClientError(
                        {"Error": {"Code": first.get("Code", ""), "Message": first.get("Message", "")}}, "DeleteObjects"
                    ),
                    doing=f"{doing}: {len(errors)} of {len(batch)} versions were not deleted",
                )
