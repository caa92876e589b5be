"""The duration of an MP4 from its ``mvhd`` box, read with ranged S3 GETs (a few KB, no download).

Bedrock bills Pegasus and Marengo per second of video but does not report the seconds; when
the record carries no probed duration, this reads it from the file's own header.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

#: Bytes read per ranged GET; a faststart ``moov`` box of a short clip fits in the first read.
CHUNK = 64 * 1024
_MAX_TOP_LEVEL_BOXES = 64


def _mvhd_duration(moov: bytes) -> float | None:
    """Seconds from the ``mvhd`` box inside a ``moov`` payload (``timescale`` and ``duration``)."""
    at = 0
    while at + 8 <= len(moov):
        size, kind = struct.unpack(">I4s", moov[at : at + 8])
        if kind == b"mvhd":
            body = moov[at + 8 :]
            version = body[0] if body else 255
            if version == 0 and len(body) >= 20:
                timescale, duration = struct.unpack(">II", body[12:20])
            elif version == 1 and len(body) >= 32:
                timescale, duration = struct.unpack(">IQ", body[20:32])
            else:
                return None
            return duration / timescale if timescale else None
        if size < 8:
            return None
        at += size
    return None


def mp4_duration_seconds(read_range: Callable[[int, int], bytes], size: int) -> float | None:
    """The duration of the MP4 of ``size`` bytes, or None when the header cannot be read.

    ``read_range(start, end)`` returns bytes ``start..end`` inclusive (an HTTP Range).
    """
    offset = 0
    for _ in range(_MAX_TOP_LEVEL_BOXES):
        if offset + 8 > size:
            return None
        head = read_range(offset, min(size, offset + 16) - 1)
        if len(head) < 8:
            return None
        box_size, kind = struct.unpack(">I4s", head[:8])
        header = 8
        if box_size == 1 and len(head) >= 16:  # 64-bit "largesize"
            box_size, header = struct.unpack(">Q", head[8:16])[0], 16
        elif box_size == 0:  # the box runs to the end of the file
            box_size = size - offset
        if box_size < header:
            return None
        if kind == b"moov":
            payload = read_range(offset + header, min(size, offset + box_size, offset + header + 4 * CHUNK) - 1)
            return _mvhd_duration(payload)
        offset += box_size
    return None
