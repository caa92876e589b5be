"""Admin: list with status filter, delete (and twice), stats, usage and cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.core_support import OFF_TOPIC_BYTES, make_app, snapshot, submit, upload

from milkmobs.core import admin
from milkmobs.domain import BackendUnavailableError, InvalidInputError, ModelType, NotFoundError, VideoStatus


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    # The price table is keyed by the Bedrock model ids in the settings: here the fake's own ids.
    prices = {"pegasus_price_per_second": 0.5, "marengo_price_per_second": 0.25}
    ids = {"pegasus_model_id": "fake.pegasus", "marengo_model_id": "fake.marengo"}
    with make_app(settings={"models": {**prices, **ids}}) as application:
        yield application


def test_usage_of_models_that_are_not_the_priced_bedrock_ones_is_not_priced() -> None:
    with make_app(settings={"models": {"pegasus_price_per_second": 0.5, "marengo_price_per_second": 0.25}}) as app:
        upload(app)
        report = app.usage("1h")
        app.ports.clock.advance(timedelta(hours=2))
        nothing = app.usage("1h")
    assert {m.model_id for m in report.models} == {"fake.pegasus", "fake.marengo"}
    assert all(m.video_seconds > 0 and m.estimated_cost_usd is None for m in report.models)
    assert all(b.estimated_cost_usd is None for m in report.models for b in m.buckets)
    assert report.total_estimated_cost_usd is None  # unknown, not 0
    assert nothing.models == [] and nothing.total_estimated_cost_usd == 0.0  # nothing used, nothing spent


def test_the_total_adds_up_the_priced_models_only() -> None:
    ids = {"pegasus_model_id": "fake.pegasus"}  # Marengo's Bedrock id is not the fake's: not priced
    with make_app(settings={"models": {"pegasus_price_per_second": 0.5, **ids}}) as app:
        upload(app)
        report = app.usage("1h")
    by_type = {m.model_type: m for m in report.models}
    pegasus, marengo = by_type[ModelType.PEGASUS], by_type[ModelType.MARENGO]
    assert marengo.estimated_cost_usd is None
    assert pegasus.estimated_cost_usd == pytest.approx(pegasus.video_seconds * 0.5)
    assert report.total_estimated_cost_usd == pegasus.estimated_cost_usd


def test_list_with_status_filter(app) -> None:  # type: ignore[no-untyped-def]
    good = upload(app)
    bad = upload(app, data=OFF_TOPIC_BYTES)
    pending = submit(app)
    assert [v.video_id for v in app.admin_list_videos(status=VideoStatus.REJECTED).items] == [bad.video_id]
    assert [v.video_id for v in app.admin_list_videos().items] == [pending, bad.video_id, good.video_id]


def test_delete_removes_everything_and_twice_is_not_found(app) -> None:  # type: ignore[no-untyped-def]
    keep = upload(app, hashtags=["gotmilk", "skate"])
    gone = upload(app, hashtags=["gotmilk", "skate"])
    ports = app.ports
    assert gone.mob_id == keep.mob_id and ports.mobs.get(gone.mob_id).video_count == 2
    deleted = app.delete_video(gone.video_id)
    assert deleted.video_id == gone.video_id
    with pytest.raises(NotFoundError):
        ports.videos.get(gone.video_id)
    assert not ports.media.exists(gone.media_key) and not ports.media.exists(gone.thumbnail_key)
    assert ports.index.get_vector(gone.video_id) is None
    mob = ports.mobs.get(keep.mob_id)
    assert mob.video_count == 1
    # centroid without it (the two files differ, so the running mean gives it back to float precision)
    assert float(mob.centroid @ keep.embedding.vector) == pytest.approx(1.0, abs=1e-3)
    assert [r.video.video_id for r in app.similar_videos(keep.video_id).results] == []
    before = snapshot(app)
    with pytest.raises(NotFoundError):
        app.delete_video(gone.video_id)
    assert snapshot(app) == before


def test_a_failing_cleanup_step_still_removes_the_rest_and_says_what_remains(app) -> None:  # type: ignore[no-untyped-def]
    video = upload(app)

    def down(key: str) -> None:
        raise BackendUnavailableError("media store down")

    app.ports.media.delete = down
    with pytest.raises(BackendUnavailableError, match=r"media file .* remained"):
        app.delete_video(video.video_id)
    with pytest.raises(NotFoundError):
        app.get_video(video.video_id)  # nothing user-visible is left
    assert app.ports.index.get_vector(video.video_id) is None
    assert app.list_mobs() == []


def test_stats(app) -> None:  # type: ignore[no-untyped-def]
    upload(app, hashtags=["gotmilk", "skate"])
    upload(app, hashtags=["gotmilk", "beach"])
    upload(app, data=OFF_TOPIC_BYTES)
    submit(app)
    stats = app.stats()
    assert stats.total_videos == 4 and stats.active_mobs == 2
    assert stats.by_status == {"validated": 2, "rejected": 1, "pending_upload": 1}
    assert stats.average_validation_score is not None and stats.average_seconds_to_validate is not None
    assert (stats.videos_last_hour, stats.videos_last_hour_capped) == (4, False)
    app.ports.clock.advance(timedelta(minutes=61))
    submit(app)
    assert app.stats().videos_last_hour == 1  # the four are more than an hour old now


def test_the_last_hour_count_stops_at_its_bound(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(admin, "RECENT_COUNT_BOUND", 3)
    for _ in range(5):
        submit(app)
    stats = app.stats()
    assert (stats.videos_last_hour, stats.videos_last_hour_capped) == (3, True)


def test_usage_prices_video_seconds_per_model_type(app) -> None:  # type: ignore[no-untyped-def]
    upload(app)
    report = app.usage("1h")
    by_type = {m.model_type: m for m in report.models}
    pegasus, marengo = by_type[ModelType.PEGASUS], by_type[ModelType.MARENGO]
    assert pegasus.invocations == 1 and marengo.invocations == 1
    assert pegasus.estimated_cost_usd == pytest.approx(pegasus.video_seconds * 0.5)
    assert marengo.estimated_cost_usd == pytest.approx(marengo.video_seconds * 0.25)
    assert report.total_estimated_cost_usd == pytest.approx(pegasus.estimated_cost_usd + marengo.estimated_cost_usd)
    assert report.end - report.start == timedelta(hours=1)
    app.ports.clock.advance(timedelta(hours=2))
    assert app.usage("1h").models == [] and len(app.usage("24h").models) == 2
    assert {r: app.usage(r).range for r in ("7d", "30d")} == {"7d": "7d", "30d": "30d"}


def test_usage_buckets_are_priced_and_add_up_to_each_model(app) -> None:  # type: ignore[no-untyped-def]
    upload(app)
    app.ports.clock.advance(timedelta(hours=3))
    upload(app)
    report = app.usage("24h")
    assert report.bucket_seconds == 3600
    for row in report.models:
        assert len(row.buckets) == 24 and row.buckets[0].start == report.start
        assert [b.start - report.start for b in row.buckets] == [timedelta(hours=i) for i in range(24)]
        used = [i for i, b in enumerate(row.buckets) if b.invocations]
        assert used == [20, 23]  # 3 h apart, the last one in the newest bucket
        assert sum(b.invocations for b in row.buckets) == row.invocations == 2
        assert sum(b.estimated_cost_usd for b in row.buckets) == pytest.approx(row.estimated_cost_usd)
        price = 0.5 if row.model_type is ModelType.PEGASUS else 0.25
        assert all(b.estimated_cost_usd == pytest.approx(b.video_seconds * price) for b in row.buckets)
    assert {r: app.usage(r).bucket_seconds for r in ("1h", "7d", "30d")} == {"1h": 300, "7d": 21600, "30d": 86400}


@pytest.mark.parametrize("bad", ["2h", "", "1H", "week"])
def test_unknown_usage_range(app, bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError) as raised:
        app.usage(bad)
    assert raised.value.field == "range"
