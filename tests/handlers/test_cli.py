"""The ``milkmobs`` command: JSON for scripts, tables for people, one-line reasons and exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from milkmobs.cli.main import build_parser, main


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(3):
        path = tmp_path / f"clip{i}.mp4"
        path.write_bytes(b"GOT MILK drinking milk " + bytes([i]) * 500)
        paths.append(path)
    return paths


def test_submit_prints_json_and_exits_zero(clips: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--backend", "memory", "submit", *map(str, clips), "--hashtags", "gotmilk", "--user", "ann", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and [v["title"] for v in out] == ["clip0", "clip1", "clip2"]
    assert {v["status"] for v in out} == {"validated"} and {v["userId"] for v in out} == {"ann"}


def test_tables_for_people(
    clips: list[Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["submit", str(clips[0]), "--backend", "memory", "--hashtags", "gotmilk"]) == 0
    out = capsys.readouterr().out
    assert "submitted" in out and "validated" in out and "#gotmilk" in out


@pytest.mark.parametrize("command", [["mobs"], ["cluster"], ["stats"], ["stats", "--range", "7d"]])
def test_read_commands_on_an_empty_memory_backend(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "memory", "--json", *command]) == 0
    json.loads(capsys.readouterr().out)  # one JSON document


def test_bad_input_is_a_one_line_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "memory", "submit", str(tmp_path / "missing.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing.mp4: no such file" in err
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    assert main(["--backend", "memory", "submit", str(text)]) == 2
    assert main(["--backend", "memory", "status", "nope"]) == 2
    assert "video nope not found" in capsys.readouterr().err
    assert main(["--backend", "memory", "search", "   "]) == 2


def test_options_work_before_and_after_the_command() -> None:
    late = build_parser().parse_args(["status", "v1", "--json", "--backend", "memory"])
    early = build_parser().parse_args(["--json", "--backend", "memory", "status", "v1"])
    assert (late.json, late.backend) == (early.json, early.backend) == (True, "memory")
    assert build_parser().parse_args(["mobs"]).backend is None  # falls back to $MILKMOBS_BACKEND, then local


def test_demo_is_handed_to_the_demo_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import milkmobs.demo

    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(milkmobs.demo, "run_demo", lambda *args, **options: calls.append((*args, options)) or 3)
    assert main(["demo", "--data-dir", str(tmp_path), "--videos-dir", str(tmp_path / "v"), "--json"]) == 3
    assert main(["demo", "--reset"]) == 3
    assert calls == [(tmp_path, tmp_path / "v", True, {"reset": False}), (None, None, False, {"reset": True})]


def test_a_short_id_must_name_one_video() -> None:
    from itertools import count

    from milkmobs.bootstrap import build
    from milkmobs.cli import lookup
    from milkmobs.core.views import SubmitRequest
    from milkmobs.domain import InvalidInputError, NotFoundError

    numbers = count()

    class Ids:
        def new_id(self) -> str:
            return f"abcd{next(numbers):04d}" + "0" * 24

    with build(ids=Ids()) as app:
        first, second = (app.submit_video(SubmitRequest(user_id="u", title=t)).video_id for t in ("one", "two"))
        assert lookup.video_id(app, first) == first  # a whole id is taken as it is
        assert lookup.video_id(app, "abcd0001") == second
        with pytest.raises(InvalidInputError, match=r"abcd starts 2 video ids .*type more of it"):
            lookup.video_id(app, "abcd")
        with pytest.raises(NotFoundError, match="video abcd9 not found"):
            lookup.video_id(app, "abcd9")
        with pytest.raises(NotFoundError, match="video abc not found"):
            lookup.video_id(app, "abc")  # too short to search for


def test_every_command_takes_json() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    needs = {"submit": ["x.mp4"], "status": ["v"], "delete": ["v"], "similar": ["v"], "search": ["milk"]}
    assert {"videos", "feed", "delete", "submit", "similar", "search"} <= set(commands.choices)
    for name in commands.choices:
        assert parser.parse_args([name, *needs.get(name, []), "--json"]).json is True, name
