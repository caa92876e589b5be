"""One retry layer per kind of failure: the workflow never runs a step again for what a layer under it
already retried (docs/architecture.md, "Retries"; the table there is computed by
``milkmobs.adapters.retry_owners``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from tests.unit.core_support import DIMENSION, make_app, upload

from milkmobs.adapters import retry_owners
from milkmobs.adapters.memory import FakeAnalyzer, FakeMediaProcessor
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.core.workflow import ANALYSIS_WORKFLOW, STORE_RETRY, Task
from milkmobs.domain import BackendUnavailableError, ConflictError, StepStatus, VideoStatus
from milkmobs.settings import Backend, Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_no_workflow_policy_retries_what_a_lower_layer_retried() -> None:
    assert retry_owners.double_retries() == []
    for below in retry_owners.BELOW_THE_WORKFLOW:
        assert retry_owners.runs_of_a_step_failing_with(below.leaves) == 1, below.kind


def test_every_lower_layer_hands_on_an_error_the_workflow_leaves_alone() -> None:
    handed_on = {below.leaves for below in retry_owners.BELOW_THE_WORKFLOW}
    assert handed_on == {BackendUnavailableError, ConflictError}


@pytest.mark.parametrize("error", [BackendUnavailableError, ConflictError, Exception])
def test_a_second_layer_is_caught_whatever_class_it_names(error: type[Exception]) -> None:
    """The defect class: a policy naming a class a lower layer hands on, one of its bases or subclasses."""
    doubled = dataclasses.replace(STORE_RETRY, errors=(*STORE_RETRY.errors, error))
    steps = tuple(
        dataclasses.replace(step, retry=(doubled,)) if isinstance(step, Task) and step.retry == (STORE_RETRY,) else step
        for step in ANALYSIS_WORKFLOW.steps
    )
    definition = dataclasses.replace(ANALYSIS_WORKFLOW, steps=steps)
    assert retry_owners.double_retries(definition)
    worst = max(row.worst_case_calls for row in retry_owners.rows(definition)[: len(retry_owners.BELOW_THE_WORKFLOW)])
    assert worst > max(below.tries for below in retry_owners.BELOW_THE_WORKFLOW)


def test_the_worst_case_of_a_lower_layer_s_failure_is_its_own_budget() -> None:
    rows = retry_owners.rows()
    for below, row in zip(retry_owners.BELOW_THE_WORKFLOW, rows, strict=False):
        assert (row.kind, row.worst_case_calls) == (below.kind, below.tries)


def test_the_architecture_document_prints_the_computed_table() -> None:
    assert retry_owners.markdown_table() in DOCS.read_text(encoding="utf-8"), (
        "regenerate the table: python -m milkmobs.adapters.retry_owners"
    )


class UnavailableModel(FakeAnalyzer):
    """Pegasus as the Bedrock adapter reports it once botocore spent its budget on throttling."""

    calls = 0

    def describe_video(self, video: Any, campaign: Any) -> Any:
        type(self).calls += 1
        raise BackendUnavailableError(
            f"InvokeModel for video {video.video_id} failed after 6 attempt(s): ThrottlingException — slow down",
            video_id=video.video_id,
        )


def _memory_app(tmp_path: Path) -> MilkMobs:
    return make_app(analyzer=lambda a: UnavailableModel(a.media, dimension=DIMENSION))


def _local_app(tmp_path: Path) -> MilkMobs:
    settings = Settings(backend=Backend.LOCAL, local={"data_dir": tmp_path}, models={"embedding_dimension": DIMENSION})
    return build(settings, retry_interval_scale=0.0, wait_scale=0.0,
                 analyzer=lambda a: UnavailableModel(a.media, dimension=DIMENSION),
                 media_processor=lambda a: FakeMediaProcessor(a.media))  # fmt: skip


@pytest.mark.parametrize("make", [_memory_app, _local_app], ids=["memory", "local"])
def test_in_process_an_unavailable_backend_fails_the_step_once_with_its_message(make: Any, tmp_path: Path) -> None:
    UnavailableModel.calls = 0
    with make(tmp_path) as app:
        video = upload(app, hashtags=["gotmilk"])
        assert video.status is VideoStatus.FAILED and video.failure is not None
        assert video.failure.step == "PegasusAnalysis"
        assert video.failure.error_type == BackendUnavailableError.__name__
        assert video.video_id in video.failure.error and "ThrottlingException" in video.failure.error
        [record] = app.execution_history(video.video_id)
        steps = {s.name: s for s in record.steps}
        assert steps["PegasusAnalysis"].attempts == 1 and steps["PegasusAnalysis"].status is StepStatus.FAILED
    assert UnavailableModel.calls == 1


def test_in_process_an_unavailable_event_bus_is_tried_once() -> None:
    with make_app() as app:
        app.ports.events.fail_next(10)
        video = upload(app, hashtags=["gotmilk"])
        [record] = app.execution_history(video.video_id)
        steps = {s.name: s for s in record.steps}
        assert steps["EmitVideoAnalyzed"].attempts == 1 and steps["EmitVideoAnalyzed"].status is StepStatus.FAILED
        app.ports.events.fail_next(0)
