"""Media on Lambda: probes and thumbnails with the ffmpeg binary alone.

The functions that read videos on Lambda carry a static ffmpeg (the media layer) but not PyAV:
PyAV's wheel unpacks to ~100 MB, which next to ffmpeg would bring a function close to Lambda's
250 MB limit. ffmpeg itself reports what the probe needs — the declared duration, the video
stream's size and rotation, whether there is audio — and, copying the stream without decoding,
where the packets really end (a truncated upload). One decoded frame proves the stream decodes.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from milkmobs.adapters.local.media import ffmpeg_exe, thumbnail_jpeg, video_label
from milkmobs.domain import MediaError, MediaInfo, Video

_TRUNCATION_SLACK_SECONDS = 0.5
_FFMPEG_TIMEOUT_SECONDS = 120
_CLOCK = r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)"
_DURATION = re.compile(r"Duration: " + _CLOCK)
_VIDEO = re.compile(r"Stream #0:\d+.*?: Video: .*?, (\d{1,5})x(\d{1,5})")
_AUDIO = re.compile(r"Stream #0:\d+.*?: Audio: ")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_TIME = re.compile(r"time=" + _CLOCK)
_FRAMES = re.compile(r"frame=\s*(\d+)")


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _ffmpeg(args: list[str], *, label: str) -> tuple[int, str]:
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    try:
        done = subprocess.run(command, capture_output=True, timeout=_FFMPEG_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{label}: ffmpeg took longer than {_FFMPEG_TIMEOUT_SECONDS}s to read the file") from exc
    return done.returncode, done.stderr.decode("utf-8", "replace")


def _reason(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def probe_with_ffmpeg(path: Path, *, label: str) -> MediaInfo:
    """Duration, resolution, audio presence and size of ``path`` (MediaError naming ``label`` when
    the file is missing, empty, not a video, undecodable or truncated)."""
    if not path.is_file():
        raise MediaError(f"{label}: the uploaded file is missing; upload the video again")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{label}: the uploaded file is empty (0 bytes); upload the video again")
    code, log = _ffmpeg(["-i", str(path), "-map", "0:v:0?", "-c", "copy", "-f", "null", "-"], label=label)
    video = _VIDEO.search(log)
    if code != 0 and video is None and "Stream #0" not in log:
        raise MediaError(f"{label}: not a decodable video file ({_reason(log)}); upload an mp4 video")
    if video is None:
        raise MediaError(f"{label}: the file holds no video stream (is it an audio file?)")
    width, height = int(video.group(1)), int(video.group(2))
    rotation = _ROTATION.search(log)
    if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        width, height = height, width  # phone videos: report the size as displayed
    declared_match = _DURATION.search(log)
    declared = _seconds(declared_match) if declared_match else None
    times = list(_TIME.finditer(log))
    data_end = _seconds(times[-1]) if times else 0.0
    code, decoded = _ffmpeg(["-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"], label=label)
    frames = [int(m.group(1)) for m in _FRAMES.finditer(decoded)]
    if code != 0 or not frames or frames[-1] < 1 or not width or not height:
        raise MediaError(f"{label}: the video stream has no decodable frame; upload the video again")
    if declared is not None and data_end < declared - _TRUNCATION_SLACK_SECONDS - _last_frame_slack(log):
        raise MediaError(
            f"{label}: the file is truncated (its video data ends at {data_end:.1f}s of a declared "
            f"{declared:.1f}s); upload the complete file again"
        )
    duration = declared if declared is not None else data_end
    return MediaInfo(
        duration_seconds=round(duration, 3),
        width=width,
        height=height,
        has_audio=bool(_AUDIO.search(log)),
        size_bytes=size,
    )


def _last_frame_slack(log: str) -> float:
    """ffmpeg's ``time=`` is the last packet's start: allow one frame interval on top."""
    fps = re.search(r"(\d+(?:\.\d+)?) fps", log)
    return 1.0 / float(fps.group(1)) if fps and float(fps.group(1)) > 0 else 0.0


class FfmpegProbeProcessor:
    """``MediaProcessor`` on real files with the ffmpeg binary only (no PyAV).

    ``resolve_path`` maps a media key (``vid_….mp4``) to a local copy of the object.
    """

    def __init__(self, resolve_path: Callable[[str], Path], *, thumbnail_width: int = 320) -> None:
        self._resolve_path = resolve_path
        self._thumbnail_width = thumbnail_width

    def probe(self, video: Video) -> MediaInfo:
        return probe_with_ffmpeg(self._resolve_path(video.media_key), label=video_label(video))

    def thumbnail(self, video: Video) -> bytes:
        """A JPEG of a representative frame (probes first, so a broken file fails with its reason)."""
        path = self._resolve_path(video.media_key)
        info = probe_with_ffmpeg(path, label=video_label(video))
        return thumbnail_jpeg(path, info, label=video_label(video), width=self._thumbnail_width)
