"""Inspecting uploaded files: probe and thumbnail."""

from __future__ import annotations

from typing import Protocol

from milkmobs.domain import MediaInfo, Video


class MediaProcessor(Protocol):
    """Reads the stored file of a video. MediaError (naming the video) when it is not a decodable video."""

    def probe(self, video: Video) -> MediaInfo:
        """Duration, resolution, audio presence."""
        ...

    def thumbnail(self, video: Video) -> bytes:
        """A JPEG of a representative frame."""
        ...
