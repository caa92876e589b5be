"""``milkmobs demo`` end to end on the local backend: themes become mobs, campaign entries validate."""

from __future__ import annotations

import json
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")
pytest.importorskip("rapidocr")
pytest.importorskip("sklearn")

from sklearn.metrics import adjusted_rand_score

from milkmobs.demo import CORPUS_QUERY, PLOT_FILE, demo_clips, run_demo, run_demo_pipeline
from milkmobs.demo.runner import DemoResult
from milkmobs.settings import Settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    data_dir = tmp_path_factory.mktemp("demo-data")
    assert Settings().clustering.join_threshold == 0.75  # the default threshold, not one tuned for the test
    return run_demo_pipeline(data_dir, demo_clips(data_dir, None), query_text=CORPUS_QUERY)


def test_every_clip_went_through_the_pipeline(demo: DemoResult) -> None:
    assert len(demo.outcomes) == 16
    assert all(o.view is not None and o.error is None for o in demo.outcomes)
    assert all(o.view.media is not None and o.view.thumbnail_key for o in demo.outcomes if o.view)


def test_captioned_and_tagged_videos_validate_and_the_others_are_rejected(demo: DemoResult) -> None:
    for o in demo.outcomes:
        expected = "validated" if o.clip.campaign_entry else "rejected"
        assert o.status == expected, (o.clip.path.name, o.view.validation if o.view else None)


def test_videos_of_a_theme_share_a_mob(demo: DemoResult) -> None:
    members = [o for o in demo.outcomes if o.view is not None and o.view.mob_id is not None]
    assert len(members) == 12
    themes = [o.clip.theme for o in members]
    mobs = [o.view.mob_id for o in members if o.view]
    assert adjusted_rand_score(themes, mobs) >= 0.8
    same = [a.view.mob_id == b.view.mob_id for a, b in combinations(members, 2) if a.clip.theme == b.clip.theme]
    other = [a.view.mob_id == b.view.mob_id for a, b in combinations(members, 2) if a.clip.theme != b.clip.theme]
    assert sum(same) / len(same) >= 0.8 and sum(other) / len(other) <= 0.1
    assert sorted(m.video_count for m in demo.mobs) == sorted([mobs.count(mob_id) for mob_id in set(mobs)])


def test_queries_find_the_right_theme(demo: DemoResult) -> None:
    theme_of = {o.video_id: o.clip.theme for o in demo.outcomes}
    assert demo.similar is not None and demo.similar.results
    assert theme_of[demo.similar.results[0].video.video_id] == theme_of[demo.similar.video_id]
    assert demo.similar.video_id not in {r.video.video_id for r in demo.similar.results}
    assert demo.search is not None
    top = [theme_of[r.video.video_id] for r in demo.search.results[:3]]
    assert top == ["sunset"] * 3


def test_the_mobs_picture_is_written(demo: DemoResult) -> None:
    from PIL import Image

    assert demo.plot_path == demo.data_dir / PLOT_FILE
    with Image.open(demo.plot_path) as image:
        assert image.format == "PNG" and image.size[0] >= 500
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 4  # mob colours, not a blank canvas


def test_demo_on_a_folder_of_user_videos_prints_json(
    demo: DemoResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(demo.data_dir / "demo-videos" / "park_1.mp4", videos / "picnic drinking milk #gotmilk #milkmob.mp4")
    (videos / "broken.mp4").write_bytes(b"not a video\n" * 100)
    (videos / "notes.txt").write_text("ignored")
    assert run_demo(tmp_path / "data", videos, json_output=True) == 0
    report = json.loads(capsys.readouterr().out)
    status = {v["file"]: v for v in report["videos"]}
    assert set(status) == {"broken.mp4", "picnic drinking milk #gotmilk #milkmob.mp4"}
    assert status["broken.mp4"]["status"] == "failed" and "not a decodable video" in status["broken.mp4"]["error"]
    assert status["picnic drinking milk #gotmilk #milkmob.mp4"]["status"] == "validated"
    assert report["search"]["query"] == "got milk" and Path(report["plot"]).is_file()


def test_the_report_names_videos_mobs_queries_and_the_picture(demo: DemoResult) -> None:
    from rich.console import Console

    from milkmobs.demo.report import print_report

    console = Console(record=True, width=160)
    print_report(demo, console)
    text = console.export_text()
    for expected in ("sunset_1.mp4", "validated", "rejected", "Mobs", "Similar to", "Text search", PLOT_FILE):
        assert expected in text
    for mob in demo.mobs:
        assert mob.name in text
    assert text.rstrip().endswith("http://127.0.0.1:8080/")  # ends with the page to open after `milkmobs serve`


def test_a_folder_without_videos_is_a_clear_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "videos").mkdir()
    assert run_demo(tmp_path / "data", tmp_path / "videos", json_output=False) == 1
    assert "no .mp4 files" in capsys.readouterr().err


def _demo_videos(data_dir: Path) -> list[str]:
    from milkmobs.bootstrap import build
    from milkmobs.demo.runner import DEMO_USER

    with build(Settings(backend="local", local={"data_dir": data_dir})) as app:
        return [v.video_id for v in app.list_user_videos(DEMO_USER, limit=100).items]


def test_a_second_run_recognises_every_clip_instead_of_doubling(demo: DemoResult) -> None:
    again = run_demo_pipeline(demo.data_dir, demo_clips(demo.data_dir, None), query_text=CORPUS_QUERY)
    assert again.recognised == len(again.outcomes) == 16
    assert [o.video_id for o in again.outcomes] == [o.video_id for o in demo.outcomes]
    assert sorted(_demo_videos(demo.data_dir)) == sorted(o.video_id for o in demo.outcomes if o.video_id)
    assert sorted(m.video_count for m in again.mobs) == sorted(m.video_count for m in demo.mobs)
    assert again.similar is not None and all(r.score < 0.999 for r in again.similar.results)  # no copy of itself


def test_reset_starts_over_and_old_doubles_are_tidied(demo: DemoResult, tmp_path: Path) -> None:
    from milkmobs.bootstrap import build
    from milkmobs.demo.runner import submit_clip

    data_dir = tmp_path / "data"
    clips = [c for c in demo_clips(demo.data_dir, None) if c.path.stem in {"sunset_1", "night_1"}]
    with build(Settings(backend="local", local={"data_dir": data_dir})) as app:  # what an older demo left: a double
        doubles = [submit_clip(app, clips[0]).video_id for _ in range(2)]
    first = run_demo_pipeline(data_dir, clips, query_text=CORPUS_QUERY)
    assert [o.recognised for o in first.outcomes] == [True, False]
    assert first.outcomes[0].video_id in doubles and len(_demo_videos(data_dir)) == 2
    reset = run_demo_pipeline(data_dir, clips, query_text=CORPUS_QUERY, reset=True)
    assert reset.reset_videos == 2 and reset.recognised == 0
    assert {o.video_id for o in reset.outcomes}.isdisjoint(o.video_id for o in first.outcomes)
    assert sorted(_demo_videos(data_dir)) == sorted(o.video_id for o in reset.outcomes if o.video_id)
    assert {o.status for o in reset.outcomes} == {o.status for o in first.outcomes}


def test_the_report_says_when_clips_were_recognised(demo: DemoResult) -> None:
    from dataclasses import replace

    from rich.console import Console

    from milkmobs.demo.report import as_json, print_report

    again = replace(demo, outcomes=[replace(o, recognised=True) for o in demo.outcomes])
    console = Console(record=True, width=200)
    print_report(again, console)
    text = console.export_text()
    assert "16 of 16 clips were analysed by an earlier run" in text and "milkmobs demo --reset" in text
    assert all(v["recognised"] for v in as_json(again)["videos"])
