"""The stuck-video sweep: a lost upload event is re-driven, an ended execution fails its video,
an abandoned pending upload expires; running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.core_support import CAMPAIGN_BYTES, T0, make_app, submit, upload

from milkmobs.adapters.memory import FixedClock, InMemoryExecutionLog
from milkmobs.core.service import MilkMobs
from milkmobs.core.sweep import PENDING_UPLOAD_GRACE, UPLOADED_GRACE, sweep
from milkmobs.domain import ExecutionRecord, ExecutionStatus, NotFoundError, VideoStatus


def _uploaded_without_execution(app: MilkMobs) -> str:
    """What a lost S3 notification leaves: the bytes stored and the record uploaded, no execution."""
    video_id = submit(app, hashtags=["gotmilk"])
    video = app.ports.videos.get(video_id)
    app.ports.media.put(video.media_key, CAMPAIGN_BYTES, content_type="video/mp4")
    now = app.ports.clock.now()
    app.ports.videos.save(
        video.transitioned(VideoStatus.UPLOADED, at=now, uploaded_at=now), expected_status=VideoStatus.PENDING_UPLOAD
    )
    return video_id


def _run(app: MilkMobs) -> dict[str, list[str]]:
    expires = app.config.upload_url_expires_seconds
    return sweep(app.ports, app.workflow, upload_url_expires_seconds=expires).to_json_dict()


def test_an_uploaded_video_without_an_execution_is_analysed_after_the_grace_period() -> None:
    clock = FixedClock(T0)
    with make_app(clock=clock) as app:
        video_id = _uploaded_without_execution(app)
        assert _run(app)["restarted"] == []  # too fresh: its event may still be on its way
        clock.set(T0 + UPLOADED_GRACE + timedelta(seconds=1))
        assert _run(app)["restarted"] == [video_id]
        assert app.ports.videos.get(video_id).status is VideoStatus.VALIDATED
        assert _run(app) == {"restarted": [], "running": [], "failed": [], "expired": []}  # idempotent


def test_an_uploaded_video_whose_execution_ended_is_failed_with_the_reason() -> None:
    clock, executions = FixedClock(T0), InMemoryExecutionLog()
    with make_app(clock=clock, executions=executions) as app:
        video_id = _uploaded_without_execution(app)
        executions.put(
            ExecutionRecord(
                execution_id=video_id,
                video_id=video_id,
                status=ExecutionStatus.FAILED,
                started_at=T0,
                stopped_at=T0,
                error="Lambda.Unknown: the function crashed",
            )
        )
        clock.set(T0 + UPLOADED_GRACE + timedelta(seconds=1))
        assert _run(app)["failed"] == [video_id]
        video = app.ports.videos.get(video_id)
        assert video.status is VideoStatus.FAILED and video.failure is not None
        assert "ended failed" in video.failure.error.lower() and "the function crashed" in video.failure.error


def test_a_pending_upload_expires_a_day_after_its_upload_url() -> None:
    clock = FixedClock(T0)
    with make_app(clock=clock) as app:
        abandoned = submit(app)
        kept = upload(app, data=CAMPAIGN_BYTES).video_id
        expires = timedelta(seconds=app.config.upload_url_expires_seconds) + PENDING_UPLOAD_GRACE
        clock.set(T0 + expires - timedelta(seconds=1))
        assert _run(app)["expired"] == []
        clock.set(T0 + expires + timedelta(seconds=1))
        assert _run(app)["expired"] == [abandoned]
        try:
            app.ports.videos.get(abandoned)
            raise AssertionError("the abandoned record is still there")
        except NotFoundError:
            pass
        assert app.stats().by_status == {"validated": 1}  # the counters follow the delete
        assert app.ports.videos.get(kept).status is VideoStatus.VALIDATED
