"""docs/examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel, and what it shows is a
rich display (cards and tables), short text, and DataFrames — never a vector."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("pandas")

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "examples" / "quickstart.ipynb"
#: Eight or more numbers in a row: how a leaked embedding or centroid looks in any output.
_FLOATS = re.compile(r"(-?\d+\.\d+(e-?\d+)?[,\s]+){8,}")


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    workdir = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    return notebook


def _outputs(cell: Any) -> dict[str, str]:
    """The cell's outputs by MIME type (stream text under ``text``)."""
    found: dict[str, str] = {}
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            found["text"] = found.get("text", "") + output["text"]
        for mime, data in output.get("data", {}).items():
            found[mime] = found.get(mime, "") + ("".join(data) if isinstance(data, list) else data)
    return found


def _cell(notebook: Any, source_start: str) -> dict[str, str]:
    cell = next(c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(source_start))
    return _outputs(cell)


def test_every_cell_ran_and_nothing_shows_a_vector(executed: Any) -> None:
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    for cell in code:
        for mime, text in _outputs(cell).items():
            assert "centroid" not in text and "embedding=" not in text and "vector" not in text, (cell.source, mime)
            assert not _FLOATS.search(text), (cell.source, mime, text[:300])
            assert "Traceback" not in text


def test_the_videos_are_analysed(executed: Any) -> None:
    printed = _cell(executed, "clips = {")["text"].splitlines()
    status = {line[:14].strip(): line.split()[-3] for line in printed}
    assert status == {t: "validated" for t in ("skate", "skate park", "beach", "beach sunset")} | {"cat": "rejected"}


def test_a_video_shows_as_a_card_with_thumbnail_status_breakdown_and_mob(executed: Any) -> None:
    card = _cell(executed, "video = app.get_video")["text/html"]
    assert "<img src=" in card and "alt='thumbnail of Milk cat'" in card
    assert "status <b>rejected</b>" in card and "in no mob" in card
    for signal in ("visual", "audio", "on-screen text", "hashtags"):
        assert f"<td>{signal}</td>" in card
    assert "<li>" in card  # the validation's reasons


def test_text_reprs_are_short(executed: Any) -> None:
    video = _cell(executed, "print(repr(video))")["text"]
    assert video.startswith("VideoView(video_id=") and len(video) < 400
    mobs = _cell(executed, "print(mobs)")["text"]
    assert mobs.startswith("[Mob(") and len(mobs) < 200 * mobs.count("Mob(")


def test_pages_and_lists_show_as_tables_and_dataframes(executed: Any) -> None:
    feed = _cell(executed, "feed = app.feed")["text/html"]
    assert feed.count("<tr>") == 1 + 4 and "Milk skate" in feed  # a header and the four validated videos
    frame = _cell(executed, "feed.to_dataframe()")
    assert "<table" in frame["text/html"] and "validation.score" in frame["text/html"]
    assert "Milk beach" in frame["text/plain"]
    mobs = _cell(executed, "mobs = app.list_mobs()")["text/html"]
    assert "<th style='text-align:left'>mob</th>" in mobs
    search = _cell(executed, 'app.search_text("skate")')["text/plain"]
    assert "video.title" in search and "Milk skate" in search
    similar = _cell(executed, "first = feed.items[0]")["text/html"]
    assert "cosine" in similar
    assert "videos left in the feed" in _cell(executed, "app.delete_video")["text"]
