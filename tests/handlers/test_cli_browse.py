"""Browsing from the command line on the local backend, with real little mp4 files: ``submit DIR``,
``videos`` (by user, by status, paged), ``feed``, ``similar``/``search`` saying when nothing matches,
``delete``, short ids in tables that fit 80 columns, and ``--json`` on every command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.media_support import make_mp4

from milkmobs.cli.main import main
from milkmobs.cli.render import SHORT_ID

pytest.importorskip("av")
pytest.importorskip("rapidocr")


class Cli:
    """``milkmobs --backend local --data-dir DIR …`` in this process, its output captured."""

    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir, self.capsys = data_dir, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--backend", "local", "--data-dir", str(self.data_dir), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self("--json", *args)
        assert code == 0, err
        return json.loads(out)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    # The titles name the action: the soundtracks are tones, and "milk mentioned" listens for speech.
    for i, name in enumerate(("a drinking milk", "b drinking milk again", "c drinking milk once more")):
        make_mp4(folder / f"{name}.mp4", text="GOT MILK", size="320x240", tone=300 + 40 * i)
    make_mp4(folder / "plain.mp4", seconds=1.0, pattern="smptebars")
    (folder / "notes.txt").write_text("not a video")
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def cli(data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "80")
    return Cli(data_dir, capsys)


@pytest.fixture
def submitted(cli: Cli, clips: Path) -> list[dict[str, Any]]:
    """The folder's clips by ann (campaign hashtags) and plain.mp4 again by bob, once per module."""
    existing = cli.json("videos")["videos"]
    if existing:
        return sorted(existing, key=lambda v: v["title"])
    ann = cli.json("submit", str(clips), "--user", "ann", "--hashtags", "gotmilk", "milkmob")
    bob = cli.json("submit", str(clips / "plain.mp4"), "--user", "bob", "--title", "plain by bob")
    return sorted([*ann, *bob], key=lambda v: v["title"])


def test_submit_dir_takes_every_mp4_of_the_folder(submitted: list[dict[str, Any]]) -> None:
    by_ann = [v["title"] for v in submitted if v["userId"] == "ann"]
    # notes.txt left alone
    assert by_ann == ["a drinking milk", "b drinking milk again", "c drinking milk once more", "plain"]
    assert all(v["status"] in {"validated", "rejected"} for v in submitted), submitted
    assert {v["status"] for v in submitted if v["title"].startswith(("a ", "b ", "c "))} == {"validated"}


def test_a_folder_without_videos_is_a_one_line_reason(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("submit", str(tmp_path))
    assert code == 2 and err.strip() == f"milkmobs: {tmp_path}: no .mp4 files in this folder"


def test_videos_by_user_and_status_page_by_page(cli: Cli, submitted: list[dict[str, Any]]) -> None:
    everyone = cli.json("videos")
    assert {v["videoId"] for v in everyone["videos"]} == {v["videoId"] for v in submitted}
    first = cli.json("videos", "--user", "ann", "--limit", "3")
    assert len(first["videos"]) == 3 and first["nextCursor"]
    rest = cli.json("videos", "--user", "ann", "--limit", "3", "--cursor", first["nextCursor"])
    assert len(rest["videos"]) == 1 and rest["nextCursor"] is None
    assert {v["userId"] for v in first["videos"] + rest["videos"]} == {"ann"}
    for status in ("validated", "rejected"):
        expected = {v["videoId"] for v in submitted if v["userId"] == "ann" and v["status"] == status}
        pages, cursor = [], None
        while True:  # pages of one: each stops exactly after a match, none is skipped
            page = cli.json("videos", "--user", "ann", "--status", status, "--limit", "1", *(
                ["--cursor", cursor] if cursor else []))  # fmt: skip
            pages.append(page["videos"])
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert {v["videoId"] for page in pages for v in page} == expected
        assert all(len(page) <= 1 for page in pages)
    bobs_status = next(v["status"] for v in submitted if v["userId"] == "bob")
    assert [v["userId"] for v in cli.json("videos", "--status", bobs_status)["videos"]].count("bob") == 1


def test_feed_shows_validated_videos_and_a_mobs_videos(cli: Cli, submitted: list[dict[str, Any]]) -> None:
    feed = cli.json("feed")["videos"]
    assert {v["videoId"] for v in feed} == {v["videoId"] for v in submitted if v["status"] == "validated"}
    mob_id = feed[0]["mobId"]
    in_mob = cli.json("feed", "--mob", mob_id[:SHORT_ID])["videos"]  # the short id from the tables works
    assert in_mob and {v["mobId"] for v in in_mob} == {mob_id}


def test_tables_lead_with_the_title_and_fit_80_columns(cli: Cli, submitted: list[dict[str, Any]]) -> None:
    for command in (["videos"], ["feed"], ["mobs"], ["similar", submitted[0]["videoId"]], ["search", "milk"]):
        code, out, err = cli(*command)
        assert code == 0, err
        lines = [line for line in out.splitlines() if not line.startswith("more: ")]
        assert max(len(line) for line in lines) <= 80, out
        # rich crops a table wider than the terminal at the 80th column: every row must end in its border
        rows = [line for line in lines if line[:1] in "┏┃┡│└"]
        assert rows and all(line.rstrip()[-1] in "┓┃┩│┘" for line in rows), out
        header = next(line for line in lines if "┃" in line)
        assert header.split("┃")[1].strip() in {"title", "name"}, header
    code, out, _ = cli("videos")
    for video in submitted:
        row = next(line for line in out.splitlines() if video["videoId"][:SHORT_ID] in line)
        assert row.split("│")[1].strip().startswith(video["title"][:10])
        assert video["videoId"] not in out  # shortened


def test_stats_say_the_local_models_have_no_price_rather_than_a_zero_cost(
    cli: Cli, submitted: list[dict[str, Any]]
) -> None:
    code, out, err = cli("stats")
    assert code == 0, err
    rows = [line for line in out.splitlines() if "local." in line]
    assert len(rows) >= 2 and all("not priced" in row for row in rows), out
    assert "local.visual-audio-v1" in out and "local.ocr-v1" in out  # the ids whole, not cut short
    assert "0.0000" not in out and max(len(line) for line in out.splitlines()) <= 80, out
    usage = cli.json("stats")["usage"]
    assert {m["modelId"] for m in usage["models"]} >= {"local.ocr-v1", "local.visual-audio-v1"}
    assert all(m["videoSeconds"] > 0 for m in usage["models"] if m["modelType"] == "pegasus")
    assert all(m["estimatedCostUsd"] is None for m in usage["models"])
    assert all(b["estimatedCostUsd"] is None for m in usage["models"] for b in m["buckets"])
    assert usage["totalEstimatedCostUsd"] is None


def test_similar_and_search_say_when_nothing_matches(cli: Cli, clips: Path, tmp_path: Path) -> None:
    alone = Cli(tmp_path / "data", cli.capsys)  # a data directory with one rejected video
    (video,) = alone.json("submit", str(clips / "plain.mp4"))
    assert video["status"] == "rejected"
    code, out, _ = alone("search", "milk")
    assert code == 0 and out.strip() == "no validated video matches “milk”"
    code, out, _ = alone("similar", video["videoId"][:SHORT_ID])
    assert code == 0 and out.strip() == f"no other validated video is similar to {video['videoId']} yet"
    assert alone.json("search", "milk")["results"] == [] and alone.json("similar", video["videoId"])["results"] == []


def test_a_search_for_words_no_video_carries_says_nothing_matches(cli: Cli, submitted: list[dict[str, Any]]) -> None:
    assert any(v["status"] == "validated" for v in submitted)
    code, out, _ = cli("search", "zebra quantum")
    assert code == 0 and out.strip() == "no validated video matches “zebra quantum”"
    assert cli.json("search", "zebra quantum")["results"] == []
    assert cli.json("search", "got milk")["results"]  # the words on screen still find the videos


def test_status_and_delete_take_a_short_id(cli: Cli, clips: Path) -> None:
    (added,) = cli.json("submit", str(clips / "plain.mp4"), "--user", "carol")
    short = added["videoId"][:SHORT_ID]
    assert cli.json("status", short)["videoId"] == added["videoId"]
    code, out, _ = cli("delete", short)
    assert code == 0 and out.strip() == f"deleted {added['videoId']} (plain)"
    (again,) = cli.json("submit", str(clips / "plain.mp4"), "--user", "carol")
    deleted = cli.json("delete", again["videoId"])
    assert deleted["deleted"] is True and deleted["videoId"] == deleted["video"]["videoId"] == again["videoId"]
    code, _, err = cli("status", added["videoId"])
    assert code == 2 and err.strip() == f"milkmobs: video {added['videoId']} not found"
    assert cli.json("videos", "--user", "carol")["videos"] == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from milkmobs import __version__

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == f"milkmobs {__version__}"
