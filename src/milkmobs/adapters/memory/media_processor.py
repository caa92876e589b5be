"""A FAKE media processor: no decoding, just facts derived from the stored bytes.

For tests and notebooks only. Real probing and thumbnails live in the local (ffmpeg) and
AWS adapters.
"""

from __future__ import annotations

import base64

from milkmobs.domain import MediaInfo, NotFoundError, Video
from milkmobs.domain.errors import MediaError
from milkmobs.ports import MediaStore

#: Marker a test puts in fake video bytes to say "this video has no audio track".
NO_AUDIO_MARKER = b"no-audio"

#: FAKE thumbnail: the same tiny valid 8x8 off-white JPEG for every video.
FAKE_THUMBNAIL_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19i"
    "Z2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2P/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF"
    "BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW"
    "V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi"
    "4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAEC"
    "AxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVm"
    "Z2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq"
    "8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDuqKKKQH//2Q=="
)


class FakeMediaProcessor:
    """Probes by byte count (duration = size / ``bytes_per_second``, at least 1 s); a constant thumbnail."""

    def __init__(self, media: MediaStore, *, bytes_per_second: int = 250_000) -> None:
        self._media = media
        self._bytes_per_second = bytes_per_second

    def _read(self, video: Video) -> bytes:
        try:
            data = self._media.get(video.media_key)
        except NotFoundError as exc:
            raise MediaError(
                f"video {video.video_id}: no uploaded file at {video.media_key}", video_id=video.video_id
            ) from exc
        if not data:
            raise MediaError(f"video {video.video_id}: the uploaded file is empty", video_id=video.video_id)
        return data

    def probe(self, video: Video) -> MediaInfo:
        data = self._read(video)
        return MediaInfo(
            duration_seconds=fake_duration_seconds(len(data), self._bytes_per_second),
            width=720,
            height=1280,
            has_audio=NO_AUDIO_MARKER not in data,
            size_bytes=len(data),
        )

    def thumbnail(self, video: Video) -> bytes:
        self._read(video)  # same errors as a real processor for missing or empty files
        return FAKE_THUMBNAIL_JPEG


def fake_duration_seconds(size_bytes: int, bytes_per_second: int = 250_000) -> float:
    """The duration the fakes pretend a file of ``size_bytes`` has (at least one second)."""
    return max(1.0, round(size_bytes / bytes_per_second, 3))
