"""Real media handling with a registry-installed ffmpeg: probe, thumbnail, frame and audio pipes.

The ffmpeg binary comes from ``imageio-ffmpeg`` (the ``media`` extra); it ships no ffprobe, so
streams and durations are read with PyAV. Frames and audio travel through pipes as raw bytes:
no temporary files.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from milkmobs.domain import MediaError, MediaInfo, Video

#: A clip whose packets stop this much before its declared end is treated as truncated.
_TRUNCATION_SLACK_SECONDS = 0.5
_FFMPEG_TIMEOUT_SECONDS = 120
#: Fewer frames than this is a picture, not a video (a photo renamed ``.mp4`` opens as a 1-frame stream).
MIN_VIDEO_FRAMES = 2


@cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by imageio-ffmpeg; MediaError if the extra is missing."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # the media extra is optional for the memory/aws backends
        raise MediaError("ffmpeg is not available: install milkmobs[media] (imageio-ffmpeg)") from exc
    return str(imageio_ffmpeg.get_ffmpeg_exe())


_JPEG_OUT = ("-frames:v", "1", "-f", "image2pipe", "-c:v", "mjpeg", "-q:v", "4", "-")


def _args(text: str) -> list[str]:
    """Split option text that holds no paths (paths are passed as separate items)."""
    return text.split()


def _run_ffmpeg(args: list[str], *, label: str, what: str) -> bytes:
    """Run ffmpeg with ``args`` and return its stdout; MediaError naming ``label`` on failure."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=_FFMPEG_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{label}: ffmpeg took longer than {_FFMPEG_TIMEOUT_SECONDS}s to {what}") from exc
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError(f"{label}: ffmpeg could not {what}: {reason[-1] if reason else 'unknown error'}")
    return done.stdout


def probe_file(path: Path, *, label: str) -> MediaInfo:
    """Duration, resolution and audio presence of ``path``.

    MediaError (with ``label``, e.g. "video vid_…", in the message) when the file is missing, empty,
    has no video stream, does not decode, or stops well before its declared duration (truncated).
    """
    import av

    if not path.is_file():
        raise MediaError(f"{label}: the uploaded file is missing; upload the video again")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{label}: the uploaded file is empty (0 bytes); upload the video again")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise MediaError(f"{label}: the file holds no video stream (is it an audio file?)")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            has_audio = len(container.streams.audio) > 0
            declared = _declared_duration(container, stream)
            # Walk the packets (no decoding): cheap, and the only way to see that data is missing.
            data_end, frames = 0.0, 0
            for packet in container.demux(stream):
                frames += packet.size > 0
                if packet.pts is not None and packet.time_base is not None:
                    end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    data_end = max(data_end, end)
            container.seek(0)
            first = next(container.decode(video=0), None)
    except MediaError:
        raise
    except (av.error.FFmpegError, StopIteration, ValueError, OSError) as exc:
        raise MediaError(f"{label}: not a decodable video file ({_short(exc)}); upload an mp4 video") from exc
    if first is None or not width or not height:
        raise MediaError(f"{label}: the video stream has no decodable frame; upload the video again")
    if frames < MIN_VIDEO_FRAMES:
        raise MediaError(
            f"{label}: too few frames for a video ({frames}; is it a still image, "
            f"{stream.codec_context.name} data?); upload an mp4 video"
        )
    if int(getattr(first, "rotation", 0) or 0) % 180 == 90:
        width, height = height, width  # phone videos: report (and decode at) the size as displayed
    start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
    if declared is not None and data_end - start < declared - _TRUNCATION_SLACK_SECONDS:
        raise MediaError(
            f"{label}: the file is truncated (its video data ends at {data_end - start:.1f}s of a declared "
            f"{declared:.1f}s); upload the complete file again"
        )
    duration = declared if declared is not None else max(0.0, data_end - start)
    return MediaInfo(
        duration_seconds=round(duration, 3), width=width, height=height, has_audio=has_audio, size_bytes=size
    )


def _declared_duration(container: object, stream: object) -> float | None:
    duration = getattr(stream, "duration", None)
    time_base = getattr(stream, "time_base", None)
    if duration and isinstance(time_base, Fraction):
        return float(duration * time_base)
    total = getattr(container, "duration", None)  # microseconds (AV_TIME_BASE)
    return float(total) / 1_000_000 if total else None


def _short(exc: BaseException) -> str:
    # PyAV errors carry the file path in str(); the reason alone is what a user needs.
    text = (getattr(exc, "strerror", None) or str(exc)).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "…"


def frame_size_for(info: MediaInfo, *, max_width: int) -> tuple[int, int]:
    """An even ``(width, height)`` at most ``max_width`` wide that keeps the video's aspect ratio."""
    width, height = info.width or max_width, info.height or max_width
    out_w = min(max_width, width)
    out_h = max(2, round(out_w * height / width / 2) * 2)
    return out_w - out_w % 2, out_h


def read_frames(
    path: Path, *, count: int, duration: float, size: tuple[int, int], label: str, max_seconds: float = 180.0
) -> npt.NDArray[np.uint8]:
    """About ``count`` BGR frames evenly spread over the first ``max_seconds``, as ``(n, h, w, 3)`` uint8."""
    span = max(0.1, min(duration, max_seconds))
    rate = max(count, 1) / span
    width, height = size
    raw = _run_ffmpeg(
        [
            *_args(f"-t {span:.3f} -i"),
            str(path),
            *_args(f"-an -vf fps={rate:.6f},scale={width}:{height}"),
            *_args("-f rawvideo -pix_fmt bgr24 -"),
        ],
        label=label,
        what="decode frames",
    )
    frame_bytes = width * height * 3
    n = len(raw) // frame_bytes
    if n == 0:
        raise MediaError(f"{label}: no frame could be decoded from the video")
    return np.frombuffer(raw[: n * frame_bytes], dtype=np.uint8).reshape(n, height, width, 3)


def read_audio(path: Path, *, sample_rate: int, label: str, max_seconds: float = 180.0) -> npt.NDArray[np.float32]:
    """The first audio track, mixed to mono at ``sample_rate``, as float32 samples in [-1, 1]."""
    raw = _run_ffmpeg(
        [
            *_args(f"-t {max_seconds:.3f} -i"),
            str(path),
            *_args(f"-vn -ac 1 -ar {sample_rate} -f s16le -c:a pcm_s16le -"),
        ],
        label=label,
        what="decode the audio track",
    )
    samples = np.frombuffer(raw[: len(raw) - len(raw) % 2], dtype="<i2")
    return (samples.astype(np.float32) / 32768.0).astype(np.float32)


def thumbnail_jpeg(path: Path, info: MediaInfo, *, label: str, width: int = 320) -> bytes:
    """A JPEG of a representative frame: ffmpeg's ``thumbnail`` pick among frames from ⅓ of the video."""
    out_w, out_h = frame_size_for(info, max_width=width)
    at = info.duration_seconds / 3.0
    jpeg = _run_ffmpeg(
        [*_args(f"-ss {at:.3f} -i"), str(path), *_args(f"-an -vf thumbnail=12,scale={out_w}:{out_h}"), *_JPEG_OUT],
        label=label,
        what="make a thumbnail",
    )
    if not jpeg.startswith(b"\xff\xd8"):
        # Past the last keyframe -ss can land beyond the data; the first frame is a fine stand-in.
        jpeg = _run_ffmpeg(
            ["-i", str(path), *_args(f"-an -vf scale={out_w}:{out_h}"), *_JPEG_OUT],
            label=label,
            what="make a thumbnail",
        )
    if not jpeg.startswith(b"\xff\xd8"):
        raise MediaError(f"{label}: ffmpeg produced no thumbnail image")
    return jpeg


def video_label(video: Video) -> str:
    """How messages name a video."""
    return f"video {video.video_id}"


class FfmpegMediaProcessor:
    """``MediaProcessor`` on real files: PyAV probes, the imageio-ffmpeg binary makes thumbnails.

    ``resolve_path`` maps a media key (``vid_….mp4``) to the stored file (``LocalMediaStore.path_for``).
    Raises MediaError naming the video when the file is not a decodable video.
    """

    def __init__(self, resolve_path: Callable[[str], Path], *, thumbnail_width: int = 320) -> None:
        self._resolve_path = resolve_path
        self._thumbnail_width = thumbnail_width

    def probe(self, video: Video) -> MediaInfo:
        """Duration, resolution, audio presence and size of the uploaded file."""
        return probe_file(self._resolve_path(video.media_key), label=video_label(video))

    def thumbnail(self, video: Video) -> bytes:
        """A JPEG of a representative frame (probes first, so a broken file fails with its reason)."""
        path = self._resolve_path(video.media_key)
        info = probe_file(path, label=video_label(video))
        return thumbnail_jpeg(path, info, label=video_label(video), width=self._thumbnail_width)
