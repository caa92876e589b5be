"""Start-up recovery and mob reconciliation on the memory backend (the crash matrix, tests/crash,
kills real processes on the local backend)."""

from __future__ import annotations

import numpy as np
from tests.unit.core_support import DIMENSION, T0, make_app, put_validated, submit, unit

from milkmobs.adapters.inprocess import InProcessOrchestrator
from milkmobs.adapters.memory.execution_log import InMemoryExecutionLog
from milkmobs.core import steps
from milkmobs.core.mobs import founding_mob_id, reconcile_mobs
from milkmobs.core.recovery import recover
from milkmobs.domain import ExecutionRecord, ExecutionStatus, Mob, StepRecord, StepStatus, VideoStatus


def _vector(i: int) -> np.ndarray:
    v = np.zeros(DIMENSION, dtype=np.float32)
    v[i] = 1.0
    return unit(v)


def test_reconcile_repairs_counts_from_members_and_removes_memberless_mobs() -> None:
    with make_app() as app:
        first = put_validated(app, _vector(0), place=True)
        second = put_validated(app, _vector(0), place=True)
        mob_id = app.ports.videos.get(first).mob_id
        assert mob_id is not None and app.ports.videos.get(second).mob_id == mob_id
        app.ports.mobs.adjust_count(mob_id, +3)  # a join counted, then a crash before its record
        ghost = Mob(mob_id="ghost", name="g", centroid=_vector(1), video_count=1, created_at=T0, updated_at=T0)
        app.ports.mobs.add(ghost)
        report = reconcile_mobs(app.ports, remove_empty=True)
        assert report.recounted == [mob_id] and report.removed == ["ghost"]
        assert [(m.mob_id, m.video_count) for m in app.ports.mobs.list_all()] == [(mob_id, 2)]
        assert reconcile_mobs(app.ports, remove_empty=True).recounted == []  # nothing left to repair


def test_a_founding_interrupted_before_its_record_is_adopted_not_repeated() -> None:
    with make_app() as app:
        video_id = put_validated(app, _vector(2))
        video = app.ports.videos.get(video_id)
        assert video.embedding is not None
        own = founding_mob_id(video_id)
        app.ports.mobs.add(
            Mob(mob_id=own, name="n", centroid=video.embedding.vector, video_count=1, created_at=T0, updated_at=T0)
        )  # what the crashed attempt wrote
        mob = steps.cluster_video(app.context, video_id)
        assert mob is not None and mob.mob_id == own
        assert [(m.mob_id, m.video_count) for m in app.ports.mobs.list_all()] == [(own, 1)]
        assert app.ports.videos.get(video_id).status is VideoStatus.VALIDATED


def test_recover_finishes_an_execution_left_running_after_validation() -> None:
    executions = InMemoryExecutionLog()
    with make_app(executions=executions) as app:
        video_id = put_validated(app, _vector(3))  # validated by the scores, not yet placed
        orchestrator = app.workflow
        assert isinstance(orchestrator, InProcessOrchestrator)
        step = StepRecord(name="ValidateVideo", status=StepStatus.RUNNING, started_at=T0)
        executions.put(  # the record a killed process left behind
            ExecutionRecord(
                execution_id=video_id, video_id=video_id, status=ExecutionStatus.RUNNING, started_at=T0, steps=[step]
            )
        )
        waiting = submit(app, hashtags=["gotmilk"])  # not uploaded: nothing to do for it
        report = recover(app.context, orchestrator)
        assert report.resumed == [video_id] and report.queued == []
        video = app.ports.videos.get(video_id)
        assert video.status is VideoStatus.VALIDATED and video.mob_id is not None
        (execution,) = orchestrator.history(video_id)
        assert execution.status is ExecutionStatus.SUCCEEDED
        assert execution.steps[0].status is StepStatus.FAILED and execution.steps[0].error == "interrupted: resumed"
        events = app.ports.events.published  # type: ignore[attr-defined]
        assert [e.video_id for e in events] == [video_id]
        assert recover(app.context, orchestrator).resumed == []  # a second start-up finds nothing to do
        assert app.ports.videos.get(waiting).status is VideoStatus.PENDING_UPLOAD
