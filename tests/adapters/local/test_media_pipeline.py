"""Broken uploads through the real local backend: that video fails with a readable reason, nothing else changes."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("av")
pytest.importorskip("rapidocr")

from milkmobs.bootstrap import build
from milkmobs.core.views import SubmitRequest
from milkmobs.demo.corpus import CLIP_PLAN, THEMES, generate_corpus
from milkmobs.demo.runner import Clip, submit_clip
from milkmobs.domain import VideoStatus
from milkmobs.settings import Backend, Settings


@pytest.fixture(scope="module")
def good_clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    one_clip = generate_corpus(tmp_path_factory.mktemp("corpus"), themes=THEMES[:1], seconds=2.0)[0]
    assert one_clip.campaign_entry and CLIP_PLAN[0][0] == "GOT MILK?"
    return Clip.from_corpus(one_clip)


def test_corrupt_uploads_fail_alone(tmp_path: Path, good_clip: Clip) -> None:
    data = good_clip.path.read_bytes()
    bad_files = {
        "truncated.mp4": ("truncated", data[: len(data) // 2]),
        "text.mp4": ("not a decodable video", b"hello, I am a text file\n" * 40),
        "noise.mp4": ("not a decodable video", bytes(range(256)) * 40),
    }
    for name, (_, content) in bad_files.items():
        (tmp_path / name).write_bytes(content)

    with build(Settings(backend=Backend.LOCAL, local={"data_dir": tmp_path / "data"})) as app:
        first = submit_clip(app, good_clip)
        assert first.view is not None and first.view.status is VideoStatus.VALIDATED
        mobs_before = [(m.mob_id, m.video_count) for m in app.list_mobs()]

        outcomes = {name: submit_clip(app, Clip(tmp_path / name, title=name)) for name in bad_files}
        for name, outcome in outcomes.items():
            reason = bad_files[name][0]
            assert outcome.view is not None
            assert outcome.view.status is VideoStatus.FAILED, name
            failure = outcome.view.failure
            assert failure is not None
            assert reason in failure.error and outcome.view.video_id in failure.error
            assert failure.error_type == "MediaError"
            assert outcome.view.mob_id is None and outcome.view.validation is None
            assert app.ports.index.get_vector(outcome.view.video_id) is None

        # An empty object (an S3 event for 0 bytes) fails too, before any decoding.
        empty = app.submit_video(SubmitRequest(user_id="demo-user", title="empty", size_bytes=1000))
        app.ports.media.put(empty.video.media_key, b"")
        app.on_object_created(empty.video.media_key, 0)
        empty_view = app.get_video(empty.video_id)
        assert empty_view.status is VideoStatus.FAILED
        assert empty_view.failure is not None and "empty" in empty_view.failure.error

        # Nothing else was touched: the good video, its vector, the mobs.
        again = app.get_video(first.view.video_id)
        assert again.status is VideoStatus.VALIDATED and again.mob_id == first.view.mob_id
        assert app.ports.index.count() == 1
        assert [(m.mob_id, m.video_count) for m in app.list_mobs()] == mobs_before
        assert app.stats().by_status == {"validated": 1, "failed": 4}
