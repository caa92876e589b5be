"""Results in a REPL or a notebook: short text, escaped HTML, DataFrames, and ``to_json_dict()`` on
every result — never a vector."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import Page

HOSTILE = "<script>alert('milk')</script> & more"


@pytest.fixture
def app() -> Iterator[MilkMobs]:
    with build() as application:
        for i, theme in enumerate(("skate", "beach", "skate_park")):
            sub = application.submit_video(
                SubmitRequest(user_id="ana", title=HOSTILE if i == 0 else f"Milk {theme}", hashtags=["gotmilk", theme])
            )
            application.upload_video(sub.video_id, f"GOT MILK #gotmilk drinking milk {theme} ".encode() * 40)
        yield application


def test_a_mob_list_prints_without_its_centroids(app: MilkMobs) -> None:
    mobs = app.list_mobs()
    assert mobs and all(m.centroid.size >= 64 for m in mobs)
    text = repr(mobs)
    assert "centroid" not in text and "array(" not in text and len(text) < 160 * len(mobs)
    assert str(mobs) == text


def test_a_video_prints_briefly_and_without_its_embedding(app: MilkMobs) -> None:
    video = app.feed().items[0]
    assert video.embedding is None or video.embedding.vector.size >= 64
    text = repr(video)
    assert text.startswith("VideoView(video_id=") and "status='validated'" in text and "score=" in text
    assert "embedding" not in text and "insights" not in text and len(text) < 400


def test_long_lists_and_texts_are_elided_in_text_but_kept_in_json(app: MilkMobs) -> None:
    page = app.admin_list_videos(limit=3)
    assert repr(page).count("VideoView(") == 3 and repr(page).endswith("next_cursor=None)")
    history = app.execution_history(page.items[0].video_id)
    steps = history[0].steps
    assert len(steps) > 3 and f"… {len(steps) - 3} more]" in repr(history[0])
    assert len(history.to_json_dict()["items"][0]["steps"]) == len(steps)  # type: ignore[index]


def test_html_escapes_what_users_typed(app: MilkMobs) -> None:
    hostile = next(v for v in app.admin_list_videos().items if v.title == HOSTILE)
    for rendered in (hostile._repr_html_(), app.admin_list_videos()._repr_html_()):
        assert "<script>" not in rendered and "&lt;script&gt;" in rendered


def test_a_video_card_has_thumbnail_status_breakdown_and_mob(app: MilkMobs) -> None:
    video = app.feed().items[0]
    card = video._repr_html_()
    assert video.thumbnail_url and f"<img src='{video.thumbnail_url.replace('&', '&amp;')}'" in card
    assert f"status <b>{video.status.value}</b>" in card and f"mob {video.mob_name}" in card
    assert video.validation is not None and f"score {video.validation.score:.2f}" in card
    mob_html = app.list_mobs()._repr_html_()
    assert all(m.name in mob_html for m in app.list_mobs())


def test_pages_lists_and_search_results_become_dataframes(app: MilkMobs) -> None:
    pytest.importorskip("pandas")
    feed = app.feed().to_dataframe()
    assert list(feed["title"]) == [v.title for v in app.feed().items]
    assert {"validation.score", "mob_name", "status"} <= set(feed.columns)
    assert not [c for c in feed.columns if "embedding" in c or "vector" in c]
    mobs = app.list_mobs().to_dataframe()
    assert "centroid" not in mobs.columns and list(mobs["video_count"]) == [m.video_count for m in app.list_mobs()]
    hits = app.search_text("skate").to_dataframe()
    assert {"score", "video.title"} <= set(hits.columns)
    assert len(app.get_mob(app.list_mobs()[0].mob_id).to_dataframe()) == app.list_mobs()[0].video_count
    assert Page(items=[]).to_dataframe().empty


def test_to_dataframe_names_pandas_when_it_is_missing(app: MilkMobs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"to_dataframe\(\) needs pandas: pip install pandas"):
        app.feed().to_dataframe()


def test_every_result_has_to_json_dict(app: MilkMobs) -> None:
    video = app.feed().items[0]
    results = [
        app.get_video(video.video_id),
        app.feed(),
        app.list_user_videos("ana"),
        app.admin_list_videos(),
        app.list_mobs(),
        app.get_mob(app.list_mobs()[0].mob_id),
        app.similar_videos(video.video_id),
        app.search_text("milk"),
        app.execution_history(video.video_id),
        app.get_validation(video.video_id),
        app.stats(),
        app.usage("24h"),
        app.recluster(),
        app.submit_video(SubmitRequest(user_id="bo", title="late")),
        app.delete_video(video.video_id),
    ]
    for result in results:
        data = result.to_json_dict()
        text = json.dumps(data)
        assert "centroid" not in text and '"embedding"' not in text, type(result)
