"""RapidOCR on frames of an encoded video, offline; the campaign text rules on what was read."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")

from milkmobs.adapters.local.media import ffmpeg_exe, probe_file, read_frames
from milkmobs.adapters.local.ocr import TextLine, distinct_texts, fold_text, insights_from_signals, shared_reader
from milkmobs.adapters.local.speech import SpokenWord
from milkmobs.core.validation import score_video
from milkmobs.domain import Campaign, Signal, Video

W, H = 320, 180


def _captioned_frames(text: str) -> np.ndarray:
    """Colour bars with noise and ``text`` drawn in white, as (n, h, w, 3) BGR frames."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(1)
    frames = []
    for i in range(10):
        bars = np.repeat(np.array([[[255, 0, 0], [0, 200, 0], [0, 0, 255], [230, 200, 0]]], np.uint8), W // 4, axis=1)
        base = np.clip(np.repeat(bars, H, axis=0) + rng.integers(-40, 40, (H, W, 3)), 0, 255).astype(np.uint8)
        image = Image.fromarray(base)
        ImageDraw.Draw(image).text(
            (20, 70 + i), text, font=ImageFont.load_default(size=26), fill="white", stroke_width=2, stroke_fill="black"
        )
        frames.append(np.asarray(image)[:, :, ::-1])
    return np.stack(frames)


@pytest.fixture(scope="module")
def captioned_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An H.264 clip whose frames carry a burned-in caption (encoded from raw frames through a pipe)."""
    path = tmp_path_factory.mktemp("ocr") / "caption.mp4"
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{W}x{H}",
        "-r",
        "5",
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(path),
    ]
    subprocess.run(cmd, input=_captioned_frames("#milkmob challenge").tobytes(), check=True)
    return path


def test_ocr_reads_a_caption_burned_into_video_frames(captioned_video: Path) -> None:
    info = probe_file(captioned_video, label="caption")
    frames = read_frames(captioned_video, count=2, duration=info.duration_seconds, size=(W, H), label="caption")
    lines = shared_reader().read_frames(frames, [0.5, 1.5])
    assert any("milkmobchallenge" in fold_text(line.text) for line in lines), lines
    assert all(line.score >= 0.6 for line in lines)


def test_a_frame_without_text_reads_nothing() -> None:
    flat = np.full((H, W, 3), 90, np.uint8)
    assert shared_reader().read(flat) == []


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare to cut the network")
def test_ocr_runs_with_the_network_cut(tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not allowed here")
    script = (
        "import socket, numpy as np\n"
        "from PIL import Image, ImageDraw, ImageFont\n"
        "from milkmobs.adapters.local.ocr import RapidOcrReader\n"
        "try:\n    socket.create_connection(('pypi.org', 443), timeout=2); raise SystemExit('network is up')\n"
        "except OSError: pass\n"
        "img = Image.new('RGB', (320, 120), (30, 60, 160))\n"
        "ImageDraw.Draw(img).text((40, 40), 'GOT MILK?', font=ImageFont.load_default(size=30), fill='white')\n"
        "print([l.text for l in RapidOcrReader().read(np.asarray(img)[:, :, ::-1].copy())])\n"
    )
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GOT MILK?" in done.stdout


# --- the campaign text rules ------------------------------------------------------------
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _video(**fields: object) -> Video:
    return Video(video_id="vid_x", user_id="u", media_key="vid_x.mp4", created_at=NOW, updated_at=NOW, **fields)


def _lines(*texts: str) -> list[TextLine]:
    return [TextLine(text=t, score=0.99, at_seconds=float(i)) for i, t in enumerate(texts)]


def test_fold_text_ignores_case_spaces_and_punctuation() -> None:
    assert fold_text("#Got Milk?") == "gotmilk"
    assert distinct_texts(_lines("GOT MILK?", "got milk", "#milkmob")) == ["GOT MILK?", "#milkmob"]


def test_caption_and_tags_make_a_participating_video() -> None:
    video = _video(title="Beach day", description="me drinking milk", hashtags=["gotmilk"])
    insights = insights_from_signals(
        video,
        Campaign(),
        on_screen=_lines("GOT MILK?", "#milkmob"),
        has_audio=True,
        scenes=["blue tones"],
        model_id="local.ocr-v1",
        heard=[SpokenWord(word="milk", start_seconds=0.5, end_seconds=0.8, confidence=0.9)],
    )
    assert insights.product_shown and insights.action_aligned
    assert insights.product_mentioned is True  # heard in the soundtrack
    assert insights.sources.product_mentioned == [Signal.SOUND]
    assert insights.audio_available and insights.participation_score == 1.0
    assert insights.on_screen_text == ["GOT MILK?", "#milkmob"]
    assert [h.start_seconds for h in insights.highlights] == [0.0, 0.5, 1.0]
    assert insights.actions == ["drinking milk"] and insights.scenes == ["blue tones"]


def test_no_audio_track_means_mention_unknown() -> None:
    insights = insights_from_signals(
        _video(hashtags=["milk"]), Campaign(), on_screen=[], has_audio=False, scenes=[], model_id="m"
    )
    assert insights.audio_available is False and insights.product_mentioned is None
    assert not insights.product_shown and not insights.action_aligned
    assert "no audio track" in insights.rationale


def test_unrelated_text_shows_nothing() -> None:
    insights = insights_from_signals(
        _video(title="Sunset", hashtags=["beach"]),
        Campaign(),
        on_screen=_lines("SALE 50%"),
        has_audio=True,
        scenes=[],
        model_id="m",
    )
    assert (insights.product_shown, insights.product_mentioned, insights.action_aligned) == (False, False, False)
    assert insights.participation_score == 0.0 and insights.highlights == []


def test_rules_follow_the_configured_campaign() -> None:
    campaign = Campaign(name="Juice", product="juice", action="pouring juice", keywords=["juice"], tags=["juicy"])
    insights = insights_from_signals(
        _video(description="pour it", hashtags=["juicy"]),
        campaign,
        on_screen=_lines("FRESH JUICE"),
        has_audio=True,
        scenes=[],
        model_id="m",
    )
    assert insights.product_shown and insights.action_aligned and insights.product_mentioned is False


def test_each_insight_says_which_part_of_the_post_it_came_from() -> None:
    video = _video(title="Me drinking milk", hashtags=["gotmilk"])
    insights = insights_from_signals(
        video, Campaign(), on_screen=_lines("SALE"), has_audio=True, scenes=[], model_id="m"
    )
    assert insights.sources.product_shown == [Signal.ON_SCREEN_TEXT]
    assert insights.sources.action_aligned == [Signal.TITLE]
    visual = score_video("vid_x", insights, video.hashtags, Campaign()).reasons[0]
    assert "shows milk: no (looked at on-screen text)" in visual
    assert "action matches 'drinking milk': yes (from the title)" in visual
