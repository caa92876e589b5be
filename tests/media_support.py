"""Real little mp4 files for tests, made by the ffmpeg binary the ``imageio-ffmpeg`` wheel ships."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_mp4(
    path: Path,
    *,
    seconds: float = 2.0,
    size: str = "160x90",
    audio: bool = True,
    tone: float = 440.0,
    faststart: bool = True,
    text: str | None = None,
    pattern: str = "testsrc2",
) -> Path:
    """An H.264 (+ AAC ``tone`` when ``audio``) clip of a lavfi test ``pattern``, or ``text`` drawn on white."""
    import imageio_ffmpeg

    video = (
        f"color=c=white:size={size}:rate=10:duration={seconds},drawtext=text='{text}':fontsize=36:x=30:y=100"
        if text
        else f"{pattern}=size={size}:rate=10:duration={seconds}"
    )
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i", video]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency={tone}:duration={seconds}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        cmd += ["-c:a", "aac", "-shortest"]
    if faststart:
        cmd += ["-movflags", "+faststart"]
    subprocess.run([*cmd, str(path)], check=True, timeout=60)
    return path
