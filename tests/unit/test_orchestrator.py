"""The in-process orchestrator: steps, retries, timeouts, the catch, parallelism, both modes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from tests.unit.core_support import OFF_TOPIC_BYTES, make_app, submit, upload

from milkmobs.adapters.inprocess import InProcessOrchestrator
from milkmobs.adapters.memory import FakeAnalyzer, InMemoryExecutionLog
from milkmobs.core.limits import LIMITS
from milkmobs.core.steps import STEP_HANDLERS
from milkmobs.core.workflow import ANALYSIS_WORKFLOW, Catch, RetryPolicy, StepTimeout, Task, WorkflowDefinition
from milkmobs.domain import (
    AnalysisError,
    BackendUnavailableError,
    ExecutionStatus,
    StepStatus,
    TransientAnalysisError,
    VideoStatus,
)
from milkmobs.ports import EmbeddingJob, ModelOutput


def _orchestrate(app: Any, **kwargs: Any) -> InProcessOrchestrator:
    orchestrator = InProcessOrchestrator(
        app.context, InMemoryExecutionLog(), retry_interval_scale=0, wait_scale=0, **kwargs
    )
    app.workflow = orchestrator
    app.add_closer(orchestrator.shutdown)
    return orchestrator


class Wrapped:
    """Delegates to the fake analyzer; tests replace single methods."""

    def __init__(self, inner: FakeAnalyzer) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _steps(app: Any, video_id: str) -> list[tuple[str, StepStatus, int]]:
    [record] = app.execution_history(video_id)
    return [(s.name, s.status, s.attempts) for s in record.steps]


def test_a_validated_video_runs_every_step_once() -> None:
    with make_app() as app:
        video = upload(app, hashtags=["gotmilk"])
        [record] = app.execution_history(video.video_id)
        assert record.execution_id == video.video_id and record.status is ExecutionStatus.SUCCEEDED
        names = [s.name for s in record.steps]
        assert names[0] == "MarkProcessing" and names[-3:] == ["ValidateVideo", "ClusterVideo", "EmitVideoAnalyzed"]
        assert sorted(names[1:3]) == ["PegasusAnalysis", "StartEmbedding"]
        assert all(s.status is StepStatus.SUCCEEDED and s.ended_at >= s.started_at for s in record.steps)
        assert record.stopped_at is not None and record.error is None
        again = app.workflow.start(video.video_id)
        assert again.already_started and len(app.execution_history(video.video_id)) == 1


def test_a_rejected_video_finishes_normally_and_emits_the_event() -> None:
    with make_app() as app:
        video = upload(app, data=OFF_TOPIC_BYTES, hashtags=["cats"])
        assert video.status is VideoStatus.REJECTED
        names = [name for name, _, _ in _steps(app, video.video_id)]
        assert "ClusterVideo" not in names and names[-1] == "EmitVideoAnalyzed"
        [event] = app.ports.events.published
        assert event.status is VideoStatus.REJECTED and event.mob_id is None


def test_transient_model_errors_are_retried() -> None:
    with make_app(
        analyzer=lambda a: FakeAnalyzer(a.media, dimension=a.index.dimension, transient_failure_rate=1.0)
    ) as app:
        video = upload(app)
        assert video.status is VideoStatus.VALIDATED
        attempts = {name: n for name, _, n in _steps(app, video.video_id)}
        assert attempts["PegasusAnalysis"] == 2 and attempts["StartEmbedding"] == 2
        assert attempts["WriteResults"] == 1


def test_retries_back_off_with_full_jitter_and_then_the_catch_marks_the_video_failed() -> None:
    delays: list[float] = []

    def throttled(*args: Any) -> Any:
        raise TransientAnalysisError("model is throttling", model_id="m")

    with make_app(analyzer=lambda a: Wrapped(FakeAnalyzer(a.media, dimension=a.index.dimension))) as app:
        app.ports.analyzer.describe_video = throttled
        orchestrator = InProcessOrchestrator(app.context, InMemoryExecutionLog(), sleep=delays.append, seed=1)
        app.workflow = orchestrator
        video = upload(app)
        assert video.status is VideoStatus.FAILED
        assert video.failure.step == "PegasusAnalysis" and "throttling" in video.failure.error  # type: ignore[union-attr]
        assert video.failure.error_type == "TransientAnalysisError"  # type: ignore[union-attr]
        assert len(delays) == 4 and all(0 <= d <= bound for d, bound in zip(delays, [2, 4, 8, 16], strict=True))
        [record] = app.execution_history(video.video_id)
        assert record.status is ExecutionStatus.FAILED and "TransientAnalysisError" in (record.error or "")
        steps = {s.name: s for s in record.steps}
        assert steps["PegasusAnalysis"].attempts == 5 and steps["PegasusAnalysis"].status is StepStatus.FAILED
        assert steps["MarkFailed"].status is StepStatus.SUCCEEDED
        assert app.ports.events.published == [] and app.ports.index.count() == 0


def test_a_permanent_error_is_not_retried() -> None:
    def broken(video: Any, campaign: Any) -> Any:
        raise AnalysisError(f"video {video.video_id}: the model cannot read this file", model_id="m")

    with make_app(analyzer=lambda a: Wrapped(FakeAnalyzer(a.media, dimension=a.index.dimension))) as app:
        app.ports.analyzer.describe_video = broken
        video = upload(app)
        assert video.status is VideoStatus.FAILED and "cannot read" in video.failure.error  # type: ignore[union-attr]
        assert dict((n, a) for n, _, a in _steps(app, video.video_id))["PegasusAnalysis"] == 1


def test_a_failing_event_bus_fails_the_execution_but_never_undoes_the_analysis() -> None:
    with make_app() as app:
        app.ports.events.fail_next(10)
        video = upload(app, hashtags=["gotmilk"])
        assert video.status is VideoStatus.VALIDATED and video.failure is None and video.mob_id is not None
        assert [m.mob_id for m in app.list_mobs()] == [video.mob_id]
        [record] = app.execution_history(video.video_id)
        assert record.status is ExecutionStatus.FAILED and "EmitVideoAnalyzed" in (record.error or "")
        steps = {s.name: s for s in record.steps}
        assert steps["EmitVideoAnalyzed"].status is StepStatus.FAILED and "MarkFailed" not in steps
        app.ports.events.fail_next(0)
        assert app.ports.events.published == []


def test_the_catch_keeps_the_result_of_a_video_that_finished_its_analysis() -> None:
    from milkmobs.core.steps import mark_failed_step

    with make_app() as app:
        video = upload(app, hashtags=["gotmilk"])
        answer = mark_failed_step(
            app, {"videoId": video.video_id, "failedStep": "AnalysisWorkflow", "error": {"Error": "TIMED_OUT"}}
        )
        assert answer["kept"] is True and app.ports.videos.get(video.video_id).status is VideoStatus.VALIDATED


def test_step_timeouts_are_retried_then_caught() -> None:
    def slow(context: Any, state: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.5)
        return state

    definition = WorkflowDefinition(
        name="t",
        comment="one slow step",
        timeout_seconds=60,
        steps=(
            Task(
                "Slow",
                "slow",
                "sleeps",
                timeout_seconds=1,
                retry=(RetryPolicy((StepTimeout,), interval_seconds=0, max_attempts=1),),
            ),
        ),
        catch=Catch((Exception,), ANALYSIS_WORKFLOW.catch.task, "Failed"),
    )
    with make_app() as app:
        orchestrator = _orchestrate(
            app, definition=definition, handlers={**STEP_HANDLERS, "slow": slow}, timeout_scale=0.05
        )
        video_id = submit(app)
        started = time.monotonic()
        orchestrator.start(video_id)
        assert time.monotonic() - started < 0.45
        video = app.ports.videos.get(video_id)
        assert video.status is VideoStatus.FAILED and video.failure.error_type == StepTimeout.__name__  # type: ignore[union-attr]
        assert [(n, a) for n, _, a in _steps(app, video_id)] == [("Slow", 2), ("MarkFailed", 1)]


def test_the_two_analysis_branches_run_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=5)

    def meet(name: str) -> Any:
        def handler(context: Any, state: dict[str, Any]) -> dict[str, Any]:
            barrier.wait()  # only returns if the other branch is running at the same time
            return STEP_HANDLERS[name](context, state)

        return handler

    with make_app() as app:
        handlers = {**STEP_HANDLERS, **{n: meet(n) for n in ("analysis-pegasus", "analysis-marengo")}}
        _orchestrate(app, handlers=handlers)
        assert upload(app).status is VideoStatus.VALIDATED


class AsyncEmbedder(Wrapped):
    """An analyzer whose embedding is a job that needs ``polls`` checks (Marengo on Bedrock)."""

    def __init__(self, inner: FakeAnalyzer, polls: int) -> None:
        super().__init__(inner)
        self.polls = polls
        self.checks = 0

    def start_video_embedding(self, video: Any) -> EmbeddingJob:
        return EmbeddingJob(job_id="job-" + video.video_id, video_id=video.video_id)

    def check_video_embedding(self, job: EmbeddingJob, video: Any) -> ModelOutput[Any] | None:
        self.checks += 1
        return self.inner.embed_video(video) if self.checks >= self.polls else None


def test_an_asynchronous_embedding_job_is_polled_until_done() -> None:
    with make_app(analyzer=lambda a: AsyncEmbedder(FakeAnalyzer(a.media, dimension=a.index.dimension), 3)) as app:
        video = upload(app)
        assert video.status is VideoStatus.VALIDATED
        names = [n for n, _, _ in _steps(app, video.video_id)]
        assert names.count("CheckEmbedding") == 3 and "StartEmbedding" in names


def test_a_job_that_never_finishes_times_out_after_max_polls() -> None:
    with make_app(analyzer=lambda a: AsyncEmbedder(FakeAnalyzer(a.media, dimension=a.index.dimension), 10**6)) as app:
        video = upload(app)
        assert video.status is VideoStatus.FAILED
        assert video.failure.step == "Embedding" and video.failure.error_type == StepTimeout.__name__  # type: ignore[union-attr]
        assert app.ports.analyzer.checks == LIMITS.marengo_max_polls


def test_a_video_deleted_mid_flight_ends_the_execution_failed() -> None:
    def delete_then_fail(context: Any, state: dict[str, Any]) -> dict[str, Any]:
        app.delete_video(state["videoId"])  # the test's facade, as a client deleting it meanwhile
        raise BackendUnavailableError("gone")

    with make_app() as app:
        orchestrator = _orchestrate(app, handlers={**STEP_HANDLERS, "analysis-pegasus": delete_then_fail})
        video_id = submit(app)
        orchestrator.start(video_id)
        [record] = orchestrator.history(video_id)
        assert record.status is ExecutionStatus.FAILED and record.steps[-1].name == "MarkFailed"


def test_background_mode_runs_on_a_pool_and_shuts_down_cleanly() -> None:
    app = make_app(background=True, settings={"local": {"workers": 3}})
    ids = [submit(app, hashtags=["gotmilk"]) for _ in range(8)]
    for video_id in ids:
        app.upload_video(video_id, b"GOT MILK drinking milk" * 4 + video_id.encode())
    assert app.workflow.wait_idle(timeout=20)
    assert {app.ports.videos.get(i).status for i in ids} == {VideoStatus.VALIDATED}
    app.close()
    app.close()  # idempotent
    with pytest.raises(BackendUnavailableError):
        app.workflow.start(submit(app))


def test_an_unknown_handler_is_refused_up_front() -> None:
    with make_app() as app, pytest.raises(ValueError, match="no step handler"):
        InProcessOrchestrator(app.context, InMemoryExecutionLog(), handlers={})


def _interrupted(app: Any, log: InMemoryExecutionLog, status: VideoStatus, execution: ExecutionStatus | None) -> str:
    """A video as a crashed process leaves it: uploaded or processing, its execution RUNNING (or none)."""
    from tests.unit.core_support import CAMPAIGN_BYTES

    from milkmobs.domain import ExecutionRecord

    video_id = submit(app, hashtags=["gotmilk"])
    ports = app.ports
    video = ports.videos.get(video_id)
    ports.media.put(video.media_key, CAMPAIGN_BYTES)
    now = ports.clock.now()
    video = video.transitioned(VideoStatus.UPLOADED, at=now)
    ports.videos.save(video, expected_status=VideoStatus.PENDING_UPLOAD)
    if status is VideoStatus.PROCESSING:
        ports.videos.save(video.transitioned(status, at=now), expected_status=VideoStatus.UPLOADED)
    if execution is not None:
        from milkmobs.domain import StepRecord

        running = StepRecord(name="MarkProcessing", status=StepStatus.RUNNING, started_at=now)
        log.put(
            ExecutionRecord(execution_id=video_id, video_id=video_id, status=execution, started_at=now, steps=[running])
        )
    return video_id


def test_resume_interrupted_finishes_what_a_previous_process_left() -> None:
    from milkmobs.adapters.inprocess import resume_interrupted

    log = InMemoryExecutionLog()
    with make_app(executions=log) as app:
        uploaded = _interrupted(app, log, VideoStatus.UPLOADED, ExecutionStatus.RUNNING)
        processing = _interrupted(app, log, VideoStatus.PROCESSING, ExecutionStatus.RUNNING)
        never_started = _interrupted(app, log, VideoStatus.UPLOADED, None)
        settled_elsewhere = _interrupted(app, log, VideoStatus.PROCESSING, ExecutionStatus.FAILED)
        resumed = resume_interrupted(app.context, app.workflow)
        assert sorted(resumed) == sorted([uploaded, processing, never_started])
        for video_id in resumed:
            assert app.ports.videos.get(video_id).status is VideoStatus.VALIDATED
            [record] = app.execution_history(video_id)
            assert record.status is ExecutionStatus.SUCCEEDED
            assert all(s.status is not StepStatus.RUNNING for s in record.steps)
            if video_id != never_started:
                assert record.steps[0].error == "interrupted: resumed" and record.steps[1].name == "MarkProcessing"
        assert app.ports.videos.get(settled_elsewhere).status is VideoStatus.PROCESSING  # not ours to rerun
        assert resume_interrupted(app.context, app.workflow) == []
        assert not app.workflow.resume(uploaded)  # finished: nothing to resume


def test_cancelled_queue_is_resumed_by_the_next_process() -> None:
    from milkmobs.adapters.inprocess import resume_interrupted

    log = InMemoryExecutionLog()
    gate, running = threading.Event(), threading.Event()

    def held(context: Any, state: dict[str, Any]) -> dict[str, Any]:
        running.set()
        gate.wait(5)
        return STEP_HANDLERS["analysis-mark-processing"](context, state)

    with make_app(executions=log) as app:
        first = InProcessOrchestrator(
            app,
            log,
            background=True,
            workers=1,
            retry_interval_scale=0,
            handlers={**STEP_HANDLERS, "analysis-mark-processing": held},
        )
        app.workflow = first
        ids = [submit(app) for _ in range(3)]
        for video_id in ids:
            app.upload_video(video_id, b"GOT MILK drinking milk" + video_id.encode())
        assert running.wait(5)  # the first execution is on the single worker, the others queued
        first.shutdown(cancel_pending=True, wait=False)  # the queued two are cancelled now
        gate.set()
        first.shutdown()
        assert first.wait_idle(1)
        statuses = [app.ports.videos.get(i).status for i in ids]
        assert statuses[0] is VideoStatus.VALIDATED and statuses[1:] == [VideoStatus.UPLOADED] * 2
        second = _orchestrate(app)
        assert sorted(resume_interrupted(app.context, second)) == sorted(ids[1:])
        assert {app.ports.videos.get(i).status for i in ids} == {VideoStatus.VALIDATED}


def test_build_in_background_resumes_interrupted_executions() -> None:
    log = InMemoryExecutionLog()
    with make_app(executions=log) as app:
        video_id = _interrupted(app, log, VideoStatus.UPLOADED, ExecutionStatus.RUNNING)
        stores = {"videos": app.ports.videos, "media": app.ports.media, "mobs": app.ports.mobs}
    from milkmobs.adapters.memory import FakeMediaProcessor

    restarted = make_app(
        background=True,
        executions=log,
        **stores,
        analyzer=lambda a: FakeAnalyzer(a.media, dimension=a.index.dimension),
        media_processor=lambda a: FakeMediaProcessor(a.media),
    )
    try:
        assert restarted.workflow.wait_idle(10)
        assert restarted.ports.videos.get(video_id).status is VideoStatus.VALIDATED
    finally:
        restarted.close()
