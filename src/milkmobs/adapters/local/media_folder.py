"""``LocalMediaStore``: video files and thumbnails in a folder, served by ``milkmobs serve``.

- Every write goes to a temporary file under ``.tmp/`` (locked with ``flock`` while it is written) and
  is moved into place, so a reader never sees half a file. A temp file left by a crash is removed when
  a store opens the folder (only if no live writer holds its lock).
- Video uploads are linked into place with ``os.link``, which fails if the key exists: an accepted
  upload is never replaced (identical bytes posted again are answered without rewriting).
- Uploads and reads are authorised by HMAC signatures over what they allow (key, content type,
  size bound, expiry), like S3 presigned POSTs and GETs; the server calls :meth:`accept_upload` and
  :meth:`open_signed`, which check them.
- The signing secret is made once per data directory (``secret.key``, mode 0600).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from milkmobs.domain import (
    BackendUnavailableError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
)
from milkmobs.ports import Clock, StoredUpload, UploadPolicy, UploadTicket

#: Upload form field names (the S3 spelling for the ones S3 has).
FIELD_KEY = "key"
FIELD_CONTENT_TYPE = "Content-Type"
FIELD_MAX_BYTES = "x-milkmobs-max-bytes"
FIELD_EXPIRES = "x-milkmobs-expires"
FIELD_SIGNATURE = "x-milkmobs-signature"

THUMBNAIL_PREFIX = "thumbnails/"
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"  # no leading dot: '.tmp' and '..' stay ours
#: A safe key: segments joined by '/'. Every character it allows is unreserved in a URL, so a checked key
#: goes into a URL path as it is (quoting it was a tenth of a signed URL's cost).
_KEY = re.compile(f"{_SEGMENT}(?:/{_SEGMENT})*")
_TMP_DIR = ".tmp"
_HASH_CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def remove_abandoned_temp_files(folder: Path) -> int:
    """Delete the temp files no live writer holds (each writer keeps an exclusive ``flock`` on its
    file while writing); returns how many were removed."""
    removed = 0
    for path in folder.glob("*"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # gone meanwhile, or a directory we never make
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # being written right now
        try:
            path.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


def load_or_create_secret(path: Path) -> bytes:
    """The data directory's signing secret, created (32 random bytes, hex, mode 0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole to a private temp file, then linked into place: a concurrent process either
        # wins the link or reads the winner's complete file, never a half-written one.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mkstemp makes it 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):
                os.link(tmp_name, path)
        finally:
            os.unlink(tmp_name)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)  # someone loosened it; a readable secret lets anyone sign URLs
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ConfigurationError(f"the signing secret in {path} is too short; delete the file to make a new one")
    return secret.encode()


def _check_key(key: str) -> str:
    if len(key) > 512 or _KEY.fullmatch(key) is None:
        raise InvalidInputError(f"media key {key!r} is not a safe relative name", field="key")
    return key


class LocalMediaStore:
    """ServedMediaStore on a folder. URLs point at ``public_base_url`` (``/uploads``, ``/media/<key>``)."""

    def __init__(self, root: Path, *, secret: bytes, public_base_url: str, clock: Clock) -> None:
        self.root = Path(root).resolve()
        self._tmp = self.root / _TMP_DIR
        self._tmp.mkdir(parents=True, exist_ok=True)
        remove_abandoned_temp_files(self._tmp)
        self._upload_key = hmac.new(secret, b"milkmobs-upload", hashlib.sha256).digest()
        self._read_key = hmac.new(secret, b"milkmobs-read", hashlib.sha256).digest()
        self._base = public_base_url.rstrip("/")
        self._clock = clock

    # --- paths ---------------------------------------------------------------------------
    def path_for(self, key: str) -> Path:
        """Where ``key`` lives on disk (it may not exist yet); for ffmpeg and the LocalAnalyzer."""
        return self.root / _check_key(key)

    def uri(self, key: str) -> str:
        return self.path_for(key).as_uri()

    # --- bytes ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _temp_file(self, key: str, prefix: str) -> Iterator[tuple[int, str]]:
        """A locked temp file under ``.tmp/``: (fd, path); always removed on the way out (once moved
        or linked into place, the removal only drops the temp name)."""
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=prefix, suffix=".part")
        except OSError as exc:
            raise BackendUnavailableError(f"cannot write media {key} under {self.root}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd, tmp_name
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            os.close(fd)

    def put(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> None:
        target = self.path_for(key)
        with self._temp_file(key, "put-") as (fd, tmp_name):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_all(fd, data)
                os.fsync(fd)
                os.replace(tmp_name, target)
            except OSError as exc:  # disk full, permissions: nothing was stored
                raise BackendUnavailableError(f"cannot write media {key} under {self.root}: {exc}") from exc

    def put_once(self, key: str, data: bytes, *, content_type: str = "video/mp4") -> StoredUpload:
        return self._store_once(key, [data], max_bytes=None)

    def _store_once(self, key: str, chunks: Iterable[bytes], *, max_bytes: int | None) -> StoredUpload:
        target = self.path_for(key)
        digest = hashlib.sha256()
        size = 0
        with self._temp_file(key, "upload-") as (fd, tmp_name):
            try:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise PayloadTooLargeError(
                            f"upload of {key} is more than {max_bytes} bytes, the limit of its form", field="file"
                        )
                    digest.update(chunk)
                    _write_all(fd, chunk)
                if size == 0:
                    raise InvalidInputError(f"upload of {key} is empty", field="file")
                os.fsync(fd)
                target.parent.mkdir(parents=True, exist_ok=True)
                sha256 = digest.hexdigest()
                try:
                    os.link(tmp_name, target)  # fails if the key exists: never replaces an accepted upload
                except FileExistsError:
                    if file_sha256(target) != sha256:
                        raise ConflictError(
                            f"{key} already holds an accepted upload with other content; an accepted upload "
                            "is never replaced: submit a new video for new content"
                        ) from None
                    return StoredUpload(key=key, size_bytes=size, sha256=sha256, created=False)
            except OSError as exc:
                raise BackendUnavailableError(f"cannot write media {key} under {self.root}: {exc}") from exc
        return StoredUpload(key=key, size_bytes=size, sha256=sha256, created=True)

    def sha256_of(self, key: str, *, version: str | None = None) -> str:
        try:
            return file_sha256(self.path_for(key))
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFoundError(f"media {key} not found") from exc

    def get(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFoundError(f"media {key} not found") from exc
        except OSError as exc:
            raise BackendUnavailableError(f"cannot read media {key} under {self.root}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError as exc:
            raise NotFoundError(f"media {key} not found") from exc

    def delete(self, key: str) -> None:
        # One version per key: os.replace overwrote any earlier one.
        self.path_for(key).unlink(missing_ok=True)

    def put_thumbnail(self, video_id: str, data: bytes) -> str:
        key = f"{THUMBNAIL_PREFIX}{video_id}.jpg"
        self.put(key, data, content_type="image/jpeg")
        return key

    # --- signed uploads ----------------------------------------------------------------------
    def create_upload(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> UploadTicket:
        _check_key(key)
        if max_bytes < 1:
            raise InvalidInputError(f"max_bytes must be positive, got {max_bytes}", field="max_bytes")
        expires = self._now_ts() + int(expires_in)
        fields = {
            FIELD_KEY: key,
            FIELD_CONTENT_TYPE: content_type,
            FIELD_MAX_BYTES: str(max_bytes),
            FIELD_EXPIRES: str(expires),
        }
        fields[FIELD_SIGNATURE] = self._upload_signature(key, content_type, max_bytes, expires)
        return UploadTicket(
            url=f"{self._base}/uploads",
            fields=fields,
            method="POST",
            expires_at=datetime.fromtimestamp(expires, UTC),
        )

    def check_upload_form(self, fields: Mapping[str, str]) -> UploadPolicy:
        missing = [
            name
            for name in (FIELD_KEY, FIELD_CONTENT_TYPE, FIELD_MAX_BYTES, FIELD_EXPIRES, FIELD_SIGNATURE)
            if name not in fields
        ]
        if missing:
            raise InvalidInputError(f"upload form lacks the field(s) {', '.join(missing)}", field=missing[0])
        key, content_type = fields[FIELD_KEY], fields[FIELD_CONTENT_TYPE]
        try:
            max_bytes, expires = int(fields[FIELD_MAX_BYTES]), int(fields[FIELD_EXPIRES])
        except ValueError as exc:
            raise ForbiddenError("upload policy fields were altered; request a new upload URL") from exc
        expected = self._upload_signature(key, content_type, max_bytes, expires)
        if not hmac.compare_digest(expected, fields[FIELD_SIGNATURE]):
            raise ForbiddenError(f"upload of {key}: the policy signature does not match; request a new upload URL")
        if self._now_ts() > expires:
            raise ForbiddenError(f"upload of {key}: the upload URL expired; request a new one")
        return UploadPolicy(key=_check_key(key), content_type=content_type, max_bytes=max_bytes)

    def store_upload(self, policy: UploadPolicy, chunks: Iterable[bytes]) -> StoredUpload:
        return self._store_once(policy.key, chunks, max_bytes=policy.max_bytes)

    def accept_upload(self, fields: Mapping[str, str], data: bytes) -> str:
        return self.store_upload(self.check_upload_form(fields), [data]).key

    # --- signed reads ----------------------------------------------------------------------------
    def read_url(self, key: str, *, expires_in: int = 3600, version: str | None = None) -> str:
        # One version per key (uploads are never replaced), so ``version`` names no other bytes.
        _check_key(key)
        expires = self._now_ts() + int(expires_in)
        # Both values are URL-safe as they are (digits, hex): urlencode was a fifth of a listing's cost.
        return f"{self._base}/media/{key}?expires={expires}&signature={self._read_signature(key, expires)}"

    def thumbnail_url(self, thumbnail_key: str, *, expires_in: int = 3600) -> str:
        return self.read_url(thumbnail_key, expires_in=expires_in)

    def open_signed(self, key: str, params: Mapping[str, str]) -> bytes:
        _check_key(key)
        try:
            expires = int(params["expires"])
            signature = params["signature"]
        except (KeyError, ValueError) as exc:
            raise ForbiddenError(f"media {key}: the URL is not signed; ask for a fresh link") from exc
        if not hmac.compare_digest(self._read_signature(key, expires), signature):
            raise ForbiddenError(f"media {key}: the URL signature does not match")
        if self._now_ts() > expires:
            raise ForbiddenError(f"media {key}: the URL expired; ask for a fresh link")
        return self.get(key)

    # --- helpers ---------------------------------------------------------------------------------
    def _now_ts(self) -> int:
        return int(self._clock.now().timestamp())

    def _upload_signature(self, key: str, content_type: str, max_bytes: int, expires: int) -> str:
        message = "\x00".join(("upload", key, content_type, str(max_bytes), str(expires))).encode()
        return hmac.new(self._upload_key, message, hashlib.sha256).hexdigest()

    def _read_signature(self, key: str, expires: int) -> str:
        message = f"read\x00{key}\x00{expires}".encode()
        return hmac.digest(self._read_key, message, "sha256").hex()  # one-shot: a third of hmac.new's cost


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
