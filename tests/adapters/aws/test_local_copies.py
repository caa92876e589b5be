"""The AWS media processor's local copies: a temp folder made for the first copy, never left behind
(closed, dropped, or its process ended without closing it)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from milkmobs.adapters.aws.factory import LOCAL_COPIES_PREFIX, LocalCopies
from milkmobs.adapters.memory.clock import SystemClock
from milkmobs.adapters.memory.media_store import InMemoryMediaStore


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty temp folder of the test's own (tempfile and child processes use it)."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    return folder


def _media() -> InMemoryMediaStore:
    media = InMemoryMediaStore(base_url="http://media.test", clock=SystemClock())
    media.put("videos/a.mp4", b"first video")
    media.put("videos/b.mp4", b"second video")
    return media


def test_the_folder_is_made_for_the_first_copy_keeps_the_latest_and_close_removes_it(private_tmp: Path) -> None:
    copies = LocalCopies(_media())
    assert list(private_tmp.iterdir()) == []  # nothing made before a copy is asked for
    first = copies.path_for("videos/a.mp4")
    assert first.read_bytes() == b"first video" and first.parent.parent == private_tmp
    assert first.parent.name.startswith(LOCAL_COPIES_PREFIX)
    second = copies.path_for("videos/b.mp4")
    assert [p.name for p in second.parent.iterdir()] == [second.name]  # only the latest is kept
    copies.close()
    copies.close()
    assert list(private_tmp.iterdir()) == []
    again = copies.path_for("videos/a.mp4")  # used after close: a new folder, removed again
    assert again.read_bytes() == b"first video"
    copies.close()
    assert list(private_tmp.iterdir()) == []


def test_copies_dropped_without_close_remove_their_folder(private_tmp: Path) -> None:
    copies = LocalCopies(_media())
    copies.path_for("videos/a.mp4")
    assert len(list(private_tmp.iterdir())) == 1
    del copies
    gc.collect()
    assert list(private_tmp.iterdir()) == []


def test_a_process_that_ends_without_closing_its_copies_leaves_no_folder(private_tmp: Path) -> None:
    script = (
        "from tests.adapters.aws.test_local_copies import _media\n"
        "from milkmobs.adapters.aws.factory import LocalCopies\n"
        "keep = LocalCopies(_media())\n"  # a module global: alive until the interpreter exits
        "print(keep.path_for('videos/a.mp4').parent)\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root), os.environ.get("PYTHONPATH", "")]),
    }
    made = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert Path(made.stdout.strip()).parent == private_tmp  # it did make one
    assert list(private_tmp.iterdir()) == []
