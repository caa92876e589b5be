"""Feed, user lists, mobs, similar-video and text search."""

from __future__ import annotations

import numpy as np
import pytest
from tests.unit.core_support import DIMENSION, OFF_TOPIC_BYTES, make_app, put_validated, submit, unit, upload

from milkmobs.domain import ConflictError, Embedding, InvalidInputError, NotFoundError, VideoStatus
from milkmobs.ports import ModelOutput


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    with make_app() as application:
        yield application


def test_feed_lists_validated_videos_newest_first_with_mob_names(app) -> None:  # type: ignore[no-untyped-def]
    first = upload(app, hashtags=["gotmilk", "skate"])
    upload(app, data=OFF_TOPIC_BYTES, hashtags=["cats"])  # rejected
    submit(app)  # pending
    second = upload(app, hashtags=["gotmilk", "beach"])
    items = app.feed().items
    assert [v.video_id for v in items] == [second.video_id, first.video_id]
    assert all(v.status is VideoStatus.VALIDATED for v in items)
    assert items[0].mob_name == app.ports.mobs.get(second.mob_id).name
    assert items[0].video_url and items[0].thumbnail_url
    json = items[0].to_json_dict()
    assert json["videoUrl"] and json["mobName"] and "embedding" not in json


def test_feed_pages_and_mob_filter(app) -> None:  # type: ignore[no-untyped-def]
    ids = [upload(app, hashtags=["gotmilk", "skate"]).video_id for _ in range(5)]
    page1 = app.feed(limit=2)
    page2 = app.feed(limit=2, cursor=page1.next_cursor)
    page3 = app.feed(limit=2, cursor=page2.next_cursor)
    assert [v.video_id for v in page1.items + page2.items + page3.items] == ids[::-1]
    assert page3.next_cursor is None
    mob_id = app.ports.videos.get(ids[0]).mob_id
    assert {v.video_id for v in app.feed(mob_id=mob_id, limit=100).items} == set(ids)
    with pytest.raises(NotFoundError):
        app.feed(mob_id="nope")


@pytest.mark.parametrize("limit", [0, -1, 101, True])
def test_limits_out_of_range_are_refused(app, limit) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError) as raised:
        app.feed(limit=limit)
    assert raised.value.field == "limit"


def test_user_lists(app) -> None:  # type: ignore[no-untyped-def]
    mine = [submit(app, user="alice") for _ in range(3)]
    submit(app, user="bob")
    assert [v.video_id for v in app.list_user_videos("alice").items] == mine[::-1]
    assert app.list_user_videos("nobody").items == []
    with pytest.raises(InvalidInputError):
        app.list_user_videos(" ")


def test_mobs_and_mob_detail(app) -> None:  # type: ignore[no-untyped-def]
    skaters = [upload(app, hashtags=["gotmilk", "skate"]) for _ in range(3)]
    beach = upload(app, hashtags=["gotmilk", "beach"])
    mobs = app.list_mobs()
    assert [m.video_count for m in mobs] == [3, 1]
    assert mobs[0].name == "#skate" and "skate" in mobs[0].example_hashtags
    detail = app.get_mob(mobs[0].mob_id, limit=2)
    assert [v.video_id for v in detail.videos] == [skaters[2].video_id, skaters[1].video_id]
    assert detail.videos[0].mob_name == "#skate" and detail.next_cursor
    assert beach.mob_id == mobs[1].mob_id
    with pytest.raises(NotFoundError):
        app.get_mob("unknown")


def test_similar_videos_use_true_cosines_and_exclude_the_query(app) -> None:  # type: ignore[no-untyped-def]
    base = unit(np.arange(1, DIMENSION + 1))
    rng = np.random.default_rng(1)
    vectors = [unit(base + rng.standard_normal(DIMENSION) * s) for s in (0.0, 0.1, 0.3, 0.6, 2.0)]
    ids = [put_validated(app, v, place=True) for v in vectors]
    rejected = upload(app, data=OFF_TOPIC_BYTES)
    result = app.similar_videos(ids[0], limit=10)
    got = [r.video.video_id for r in result.results]
    assert ids[0] not in got and rejected.video_id not in got
    expected = sorted(ids[1:], key=lambda i: -float(vectors[ids.index(i)] @ vectors[0]))
    assert got == expected
    for r in result.results:
        assert r.score == pytest.approx(float(vectors[ids.index(r.video.video_id)] @ vectors[0]), abs=1e-5)
    assert len(app.similar_videos(ids[0], limit=2).results) == 2


def test_similar_search_with_a_mob_filter(app) -> None:  # type: ignore[no-untyped-def]
    skaters = [upload(app, hashtags=["gotmilk", "skate"]).video_id for _ in range(3)]
    beach = upload(app, hashtags=["gotmilk", "beach"])
    mob_id = app.ports.videos.get(skaters[0]).mob_id
    found = app.similar_videos(beach.video_id, mob_id=mob_id).results
    assert {r.video.video_id for r in found} == set(skaters)


def test_similar_search_bad_input(app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError):
        app.similar_videos("missing")
    with pytest.raises(ConflictError, match="no embedding"):
        app.similar_videos(submit(app))


def test_text_search_finds_the_tagged_videos(app) -> None:  # type: ignore[no-untyped-def]
    skate = upload(app, hashtags=["gotmilk", "skate"])
    upload(app, hashtags=["gotmilk", "beach"])
    result = app.search_text("skate", limit=1)
    assert result.query == "skate" and [r.video.video_id for r in result.results] == [skate.video_id]
    for bad in ["", "   ", "x" * 501]:
        with pytest.raises(InvalidInputError):
            app.search_text(bad)


def test_a_text_sharing_nothing_with_any_video_finds_nothing(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Whatever the analyzer: videos at cosine zero (up to float noise) or below are no match, so an
    index that ranks every video does not make a search for unrelated words list them all."""
    videos = [upload(app, hashtags=["gotmilk", tag]) for tag in ("skate", "beach", "park")]
    stored = np.array([app.ports.index.get_vector(v.video_id) for v in videos], dtype=np.float64)
    orthogonal = np.linalg.svd(stored)[2][-1]  # a direction none of the videos has any of
    orthogonal += 1e-9 * stored[0]  # float noise, as a real projection leaves it
    opposed = -stored[1]
    for query in (orthogonal, opposed):
        embedding = Embedding.create(query / np.linalg.norm(query), model_id="stub", dimension=DIMENSION)
        monkeypatch.setattr(app.ports.analyzer, "embed_text", lambda _text, e=embedding: ModelOutput(e, ()))
        assert app.search_text("zebra quantum").results == []
    monkeypatch.undo()
    assert app.search_text("skate").results  # words the videos carry still find them


def test_unknown_ids_are_not_found(app) -> None:  # type: ignore[no-untyped-def]
    for call in (app.get_video, app.get_validation, app.execution_history, app.revalidate, app.delete_video):
        with pytest.raises(NotFoundError):
            call("0" * 32)


def test_video_views_read_mob_names_only_never_whole_mobs(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    skaters = [upload(app, hashtags=["gotmilk", "skate"]) for _ in range(2)]
    beach = upload(app, hashtags=["gotmilk", "beach"])
    names = {m.mob_id: m.name for m in app.list_mobs()}

    def whole_mobs_read(*_args: object) -> None:
        raise AssertionError("a video view read whole mobs (centroids included) to show their names")

    monkeypatch.setattr(app.ports.mobs, "list_all", whole_mobs_read)
    monkeypatch.setattr(app.ports.mobs, "get", whole_mobs_read)
    views = [
        app.get_video(beach.video_id),
        *app.feed().items,
        *app.list_user_videos("u1").items,
        *(r.video for r in app.similar_videos(skaters[0].video_id).results),
        *(r.video for r in app.search_text("skate").results),
    ]
    assert {v.video_id for v in views} == {beach.video_id, *(s.video_id for s in skaters)}
    assert all(v.mob_id and v.mob_name == names[v.mob_id] for v in views)
