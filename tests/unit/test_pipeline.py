"""The pipeline steps one by one: guards, idempotence, failure handling, usage metrics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from tests.unit.core_support import (
    CAMPAIGN_BYTES,
    DIMENSION,
    OFF_TOPIC_BYTES,
    insights,
    make_app,
    snapshot,
    submit,
    upload,
)

from milkmobs.core import steps
from milkmobs.domain import ConflictError, Embedding, InvalidInputError, ModelType, NotFoundError, VideoStatus


class _NoWorkflow:
    """Starts nothing, so a test can drive the steps by hand."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, video_id: str):  # type: ignore[no-untyped-def]
        from milkmobs.domain import StartResult

        self.started.append(video_id)
        return StartResult(execution_id=video_id)

    def history(self, video_id: str) -> list:  # type: ignore[type-arg]
        return []


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    with make_app(workflow=_NoWorkflow()) as application:
        yield application


def _uploaded(app, data: bytes = CAMPAIGN_BYTES, **kw) -> str:  # type: ignore[no-untyped-def]
    video_id = submit(app, **kw)
    key = app.ports.videos.get(video_id).media_key
    app.ports.media.put(key, data)
    app.on_object_created(key, len(data))
    return video_id


def test_object_created_starts_the_workflow_once(app) -> None:  # type: ignore[no-untyped-def]
    video_id = _uploaded(app)
    assert app.workflow.started == [video_id]
    assert app.ports.videos.get(video_id).status is VideoStatus.UPLOADED


def test_steps_by_hand(app) -> None:  # type: ignore[no-untyped-def]
    video_id = _uploaded(app, hashtags=["gotmilk"])
    video = steps.mark_processing(app.context, video_id)
    assert video.status is VideoStatus.PROCESSING and video.media is not None  # probed
    assert steps.mark_processing(app.context, video_id) == app.ports.videos.get(video_id)  # a retried step is a no-op
    found = steps.describe_video(app.context, video_id)
    embedding = steps.embed_video(app.context, video_id)
    assert embedding.dimension == DIMENSION
    steps.write_results(app.context, video_id, found, embedding)
    assert app.ports.index.count() == 1
    result = app.revalidate(video_id)
    assert result.passed and app.ports.videos.get(video_id).status is VideoStatus.VALIDATED
    mob = steps.cluster_video(app.context, video_id)
    assert mob is not None and app.ports.videos.get(video_id).mob_id == mob.mob_id
    assert steps.cluster_video(app.context, video_id).mob_id == mob.mob_id  # idempotent: not counted twice
    assert app.ports.mobs.get(mob.mob_id).video_count == 1
    steps.emit_analyzed(app.context, video_id)
    [event] = app.ports.events.published
    assert event.video_id == video_id and event.mob_id == mob.mob_id and event.validation_score == 1.0
    usage = {
        u.model_type: u
        for u in app.ports.metrics.usage_between(app.ports.clock.now().replace(year=2000), app.ports.clock.now())
    }
    assert usage[ModelType.PEGASUS].invocations == 1 and usage[ModelType.MARENGO].video_seconds > 0


def test_steps_refuse_the_wrong_state(app) -> None:  # type: ignore[no-untyped-def]
    video_id = submit(app)
    with pytest.raises(ConflictError):
        steps.mark_processing(app.context, video_id)  # still pending_upload
    with pytest.raises(ConflictError):
        steps.describe_video(app.context, video_id)
    with pytest.raises(ConflictError):
        app.revalidate(video_id)
    with pytest.raises(ConflictError):
        steps.emit_analyzed(app.context, video_id)  # nothing false is ever emitted
    assert steps.cluster_video(app.context, video_id) is None
    with pytest.raises(NotFoundError):
        steps.mark_processing(app.context, "0" * 32)


def test_validation_needs_stored_insights(app) -> None:  # type: ignore[no-untyped-def]
    video_id = _uploaded(app)
    steps.mark_processing(app.context, video_id)
    with pytest.raises(ConflictError, match="no stored insights"):
        app.revalidate(video_id)


def test_an_embedding_of_the_wrong_dimension_changes_nothing(app) -> None:  # type: ignore[no-untyped-def]
    video_id = _uploaded(app)
    steps.mark_processing(app.context, video_id)
    before = snapshot(app)
    wrong = Embedding.create(np.ones(DIMENSION + 1), model_id="m")
    with pytest.raises(InvalidInputError) as raised:
        steps.write_results(app.context, video_id, insights(), wrong)
    assert raised.value.field == "embedding"
    assert snapshot(app) == before


def test_off_topic_video_is_rejected_and_not_clustered(app) -> None:  # type: ignore[no-untyped-def]
    video_id = _uploaded(app, data=OFF_TOPIC_BYTES, hashtags=["skate"])
    steps.mark_processing(app.context, video_id)
    steps.write_results(
        app.context, video_id, steps.describe_video(app.context, video_id), steps.embed_video(app.context, video_id)
    )
    assert not app.revalidate(video_id).passed
    assert app.ports.videos.get(video_id).status is VideoStatus.REJECTED
    assert steps.cluster_video(app.context, video_id) is None
    steps.emit_analyzed(app.context, video_id)
    assert app.ports.events.published[-1].status is VideoStatus.REJECTED


def test_mark_failed_records_the_step_and_leaves_index_and_mob() -> None:
    with make_app() as app:
        video = upload(app, hashtags=["gotmilk"])
        assert video.mob_id is not None
        failed = steps.mark_failed(
            app.context, video.video_id, step="EmitVideoAnalyzed", error="bus down", error_type="X"
        )
        assert failed.status is VideoStatus.FAILED and failed.mob_id is None
        assert failed.failure.step == "EmitVideoAnalyzed" and failed.failure.error == "bus down"  # type: ignore[union-attr]
        assert app.ports.index.get_vector(video.video_id) is None
        assert app.ports.mobs.get(video.mob_id).video_count == 0
        assert app.list_mobs() == []  # an emptied mob is hidden until the batch run removes it
        again = steps.mark_failed(app.context, video.video_id, step="other", error="other")
        assert again.failure == failed.failure  # idempotent


def test_metrics_outage_does_not_fail_a_step(app, caplog) -> None:  # type: ignore[no-untyped-def]
    from milkmobs.domain import BackendUnavailableError

    def down(usage):  # type: ignore[no-untyped-def]
        raise BackendUnavailableError("metrics down")

    app.ports.metrics.record_usage = down
    video_id = _uploaded(app)
    steps.mark_processing(app.context, video_id)
    assert steps.describe_video(app.context, video_id).product_shown
    assert "could not be recorded" in caplog.text


def test_revalidate_flips_status_and_mob_membership() -> None:
    with make_app() as app:
        video = upload(app, hashtags=["gotmilk"])
        mob_id = video.mob_id
        assert mob_id is not None
        original = app.config
        strict = original.campaign.model_copy(update={"pass_threshold": 1.0})
        app.config = dataclasses.replace(original, campaign=strict)
        weaker = video.insights.model_copy(update={"product_mentioned": False})  # type: ignore[union-attr]
        stored = app.ports.videos.get(video.video_id)
        app.ports.videos.save(stored.model_copy(update={"insights": weaker}), expected_status=VideoStatus.VALIDATED)
        assert not app.revalidate(video.video_id).passed
        now = app.ports.videos.get(video.video_id)
        assert now.status is VideoStatus.REJECTED and now.mob_id is None
        assert app.ports.mobs.get(mob_id).video_count == 0
        assert [v.video_id for v in app.feed().items] == []
        app.config = original
        assert app.revalidate(video.video_id).passed
        back = app.ports.videos.get(video.video_id)
        assert back.status is VideoStatus.VALIDATED and back.mob_id is not None
        assert app.get_validation(video.video_id).passed
        assert [r.video.video_id for r in app.similar_videos(upload(app).video_id).results] == [video.video_id]


def test_get_validation_of_an_unvalidated_video_is_not_found(app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="no validation yet"):
        app.get_validation(submit(app))


def test_mark_failed_finishes_its_clean_up_when_repeated_after_an_outage() -> None:
    from milkmobs.domain import BackendUnavailableError

    with make_app() as app:
        video = upload(app, hashtags=["gotmilk"])
        index_delete = app.ports.index.delete

        def down(video_id: str) -> bool:
            raise BackendUnavailableError("index down")

        app.ports.index.delete = down
        with pytest.raises(BackendUnavailableError):
            steps.mark_failed(app.context, video.video_id, step="EmitVideoAnalyzed", error="bus down")
        stored = app.ports.videos.get(video.video_id)
        assert stored.status is VideoStatus.FAILED and stored.mob_id == video.mob_id
        assert app.feed(mob_id=video.mob_id).items == []  # a failed member never shows on the mob page
        app.ports.index.delete = index_delete
        done = steps.mark_failed(app.context, video.video_id, step="EmitVideoAnalyzed", error="bus down")
        assert done.mob_id is None and app.ports.index.get_vector(video.video_id) is None
        assert app.ports.mobs.get(video.mob_id).video_count == 0
        assert steps.mark_failed(app.context, video.video_id, step="x", error="y") == app.ports.videos.get(
            video.video_id
        )
