"""FfmpegMediaProcessor on real files made by the ffmpeg binary, and on files that are not videos."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.media_support import make_mp4

pytest.importorskip("av")
pytest.importorskip("imageio_ffmpeg")

from milkmobs.adapters.local.media import FfmpegMediaProcessor, ffmpeg_exe, probe_file, read_audio, read_frames
from milkmobs.domain import MediaError, Video

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    good = make_mp4(root / "vid_good.mp4")
    make_mp4(root / "vid_silent.mp4", size="96x128", audio=False, seconds=3.0)
    plain = make_mp4(root / "vid_plain.mp4", faststart=False)
    bad = {
        "vid_truncated.mp4": good.read_bytes()[: good.stat().st_size // 2],  # moov first: data missing
        "vid_truncated_moov.mp4": plain.read_bytes()[: plain.stat().st_size // 2],  # moov lost
        "vid_text.mp4": b"this is a text file renamed to .mp4\n" * 20,
        "vid_empty.mp4": b"",
        "vid_noise.mp4": bytes(range(256)) * 64,
    }
    for name, data in bad.items():
        (root / name).write_bytes(data)
    from PIL import Image

    for fmt in ("png", "jpeg"):  # a photo renamed .mp4 opens as a one-frame video stream
        Image.new("RGB", (64, 48), (200, 120, 30)).save(root / f"vid_still_{fmt}.mp4", format=fmt.upper())
    return {p.stem.removeprefix("vid_"): p for p in root.iterdir()}


def video_for(path: Path) -> Video:
    return Video(video_id=path.stem, user_id="u", media_key=path.name, created_at=NOW, updated_at=NOW)


def test_probe_reads_duration_resolution_and_audio(clips: dict[str, Path]) -> None:
    processor = FfmpegMediaProcessor(lambda key: clips["good"].parent / key)
    info = processor.probe(video_for(clips["good"]))
    assert info.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert (info.width, info.height, info.has_audio) == (160, 90, True)
    assert info.size_bytes == clips["good"].stat().st_size

    silent = processor.probe(video_for(clips["silent"]))
    assert silent.duration_seconds == pytest.approx(3.0, abs=0.1)
    assert (silent.width, silent.height, silent.has_audio) == (96, 128, False)


def test_thumbnail_is_a_jpeg_of_the_video_frame(clips: dict[str, Path]) -> None:
    from PIL import Image

    processor = FfmpegMediaProcessor(lambda key: clips["good"].parent / key)
    jpeg = processor.thumbnail(video_for(clips["silent"]))
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG"
    assert image.size == (96, 128)  # never upscaled, aspect kept
    # testsrc2 is colourful: a real frame, not a blank image
    extrema = image.convert("L").getextrema()
    assert extrema[1] - extrema[0] > 50


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated", "truncated"),
        ("truncated_moov", "not a decodable video"),
        ("text", "not a decodable video"),
        ("noise", "not a decodable video"),
        ("empty", "empty (0 bytes)"),
        ("still_png", "too few frames for a video (1; is it a still image"),
        ("still_jpeg", "too few frames for a video (1; is it a still image"),
        ("missing", "missing"),
    ],
)
def test_files_that_are_not_videos_raise_media_error_naming_the_video(
    clips: dict[str, Path], name: str, reason: str
) -> None:
    root = clips["good"].parent
    processor = FfmpegMediaProcessor(lambda key: root / key)
    video = video_for(root / f"vid_{name}.mp4")
    for call in (processor.probe, processor.thumbnail):
        with pytest.raises(MediaError) as caught:
            call(video)
        assert f"video vid_{name}" in caught.value.message
        assert reason in caught.value.message
        assert str(root) not in caught.value.message  # no local paths leak into the record


def test_a_rotated_phone_video_reports_its_displayed_size(clips: dict[str, Path], tmp_path: Path) -> None:
    rotated = tmp_path / "rotated.mp4"
    cmd = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-display_rotation", "90", "-i", str(clips["silent"])]
    subprocess.run([*cmd, "-c", "copy", str(rotated)], check=True)
    info = probe_file(rotated, label="rotated")
    assert (info.width, info.height) == (128, 96)
    frames = read_frames(rotated, count=2, duration=info.duration_seconds, size=(128, 96), label="rotated")
    assert frames.shape[1:] == (96, 128, 3)


def test_frames_and_audio_come_through_pipes(clips: dict[str, Path]) -> None:
    info = probe_file(clips["good"], label="clip")
    frames = read_frames(clips["good"], count=4, duration=info.duration_seconds, size=(80, 46), label="clip")
    assert frames.shape[1:] == (46, 80, 3)
    assert 3 <= frames.shape[0] <= 5
    assert frames.std() > 10
    samples = read_audio(clips["good"], sample_rate=16_000, label="clip")
    assert samples.size == pytest.approx(32_000, rel=0.1)
    assert 0.1 < float(abs(samples).max()) <= 1.0
