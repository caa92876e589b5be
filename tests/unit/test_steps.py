"""The step table on the state machine's JSON, as the Lambdas call it."""

from __future__ import annotations

import json

import pytest
from tests.unit.core_support import CAMPAIGN_BYTES, make_app, submit

from milkmobs.adapters.aws.sfn_names import caught_error
from milkmobs.core.steps import STEP_HANDLERS
from milkmobs.domain import InvalidInputError, StartResult, VideoStatus


class _NoWorkflow:
    def start(self, video_id: str) -> StartResult:
        return StartResult(execution_id=video_id)

    def history(self, video_id: str) -> list:  # type: ignore[type-arg]
        return []


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    with make_app(workflow=_NoWorkflow()) as application:
        yield application


def _uploaded(app) -> str:  # type: ignore[no-untyped-def]
    video_id = submit(app, hashtags=["gotmilk"])
    key = app.ports.videos.get(video_id).media_key
    app.ports.media.put(key, CAMPAIGN_BYTES)
    app.on_object_created(key)
    return video_id


def test_the_whole_flow_through_json(app) -> None:  # type: ignore[no-untyped-def]
    video_id = _uploaded(app)
    state = {"videoId": video_id}
    assert STEP_HANDLERS["analysis-mark-processing"](app.context, state) == {
        "videoId": video_id,
        "status": "processing",
    }
    pegasus = STEP_HANDLERS["analysis-pegasus"](app.context, state)
    marengo = STEP_HANDLERS["analysis-marengo"](app.context, {**state, "action": "start"})
    assert marengo["done"] is True and marengo["job"] is None and len(marengo["embedding"]["vector"]) == 32
    json.dumps([pegasus, marengo])  # plain JSON, as Step Functions carries it
    merged = {"videoId": video_id, "insights": pegasus["insights"], "embedding": marengo["embedding"]}
    assert STEP_HANDLERS["analysis-write-result"](app.context, merged) == {"videoId": video_id}
    validated = STEP_HANDLERS["validate-video"](app.context, state)
    assert validated["status"] == "validated" and validated["validation"]["passed"] is True
    assert validated["event"] is None  # the passing video's event comes from its placement
    assert app.ports.videos.get(video_id).status.value == "processing"  # validated once it has its mob
    clustered = STEP_HANDLERS["cluster-video"](app.context, state)
    assert clustered["mobId"] and clustered["event"]["mobId"] == clustered["mobId"]
    assert clustered["status"] == "validated" == app.ports.videos.get(video_id).status.value
    emitted = STEP_HANDLERS["emit-analyzed"](app.context, {**state, "event": clustered["event"]})
    assert emitted["event"] == clustered["event"]
    assert app.ports.events.published[0].mob_id == clustered["mobId"]


def test_mark_failed_reads_the_lambda_error_document(app) -> None:  # type: ignore[no-untyped-def]
    video_id = _uploaded(app)
    cause = json.dumps({"errorMessage": "video x: Pegasus refused", "errorType": "AnalysisError", "stackTrace": []})
    out = STEP_HANDLERS["analysis-mark-failed"](
        app.context,
        {
            "videoId": video_id,
            "failedStep": "AnalyzeVideo",
            # what the Lambda hands the step: Step Functions' catch output in the core's words
            "error": caught_error({"Error": "AnalysisError", "Cause": cause}),
        },
    )
    assert out["status"] == "failed"
    assert out["failure"]["step"] == "AnalyzeVideo" and out["failure"]["error"] == "video x: Pegasus refused"
    assert out["failure"]["errorType"] == "AnalysisError"
    video = app.ports.videos.get(video_id)
    assert video.status is VideoStatus.FAILED


def test_mark_failed_on_a_deleted_video_reports_it(app) -> None:  # type: ignore[no-untyped-def]
    video_id = _uploaded(app)
    app.delete_video(video_id)
    state = {"videoId": video_id, "error": caught_error({"Error": "States.Timeout"})}
    out = STEP_HANDLERS["analysis-mark-failed"](app.context, state)
    assert out == {"videoId": video_id, "status": None, "deleted": True}


@pytest.mark.parametrize(
    ("name", "state", "field"),
    [
        ("analysis-mark-processing", {}, "videoId"),
        ("analysis-pegasus", {"videoId": ""}, "videoId"),
        ("analysis-marengo", {"videoId": "v", "action": "stop"}, "action"),
        ("analysis-marengo", {"videoId": "v", "action": "check"}, "job"),
        ("analysis-marengo", {"videoId": "v", "action": "check", "job": {"x": 1}}, "job"),
        ("analysis-write-result", {"videoId": "v"}, "insights"),
    ],
)
def test_malformed_state_is_refused_with_the_field(app, name, state, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError) as raised:
        STEP_HANDLERS[name](app.context, state)
    assert raised.value.field == field


def test_step_functions_names_translate_to_the_core_s_and_back() -> None:
    from milkmobs.adapters.aws.sfn_names import ALL_ERRORS, LAMBDA_SERVICE_ERRORS, TIMEOUT_ERROR, error_names
    from milkmobs.core.workflow import StepTimeout
    from milkmobs.domain import BackendUnavailableError

    assert caught_error({"Error": TIMEOUT_ERROR, "Cause": "too slow"}) == {"name": "StepTimeout", "message": "too slow"}
    assert error_names((Exception,)) == [ALL_ERRORS]
    assert error_names((BackendUnavailableError, StepTimeout), runner_faults=LAMBDA_SERVICE_ERRORS) == [
        "BackendUnavailableError",
        TIMEOUT_ERROR,
        *LAMBDA_SERVICE_ERRORS,
    ]


def test_the_facade_offers_use_cases_and_no_workflow_step() -> None:
    """Every step a StepContext runs is reached through ``core.steps``; none is a ``MilkMobs`` method
    (the facade's surface is the use cases: a step added later cannot slip onto it)."""
    import inspect

    from milkmobs.core import steps
    from milkmobs.core.service import MilkMobs
    from milkmobs.core.steps import StepContext

    typed_steps = {
        name
        for name, function in inspect.getmembers(steps, inspect.isfunction)
        if function.__module__ == steps.__name__
        and not name.startswith("_")
        and next(iter(inspect.signature(function, eval_str=True).parameters.values())).annotation is StepContext
    }
    assert {"describe_video", "embed_video", "mark_failed", "cluster_video"} <= typed_steps
    assert typed_steps & set(dir(MilkMobs)) == set()
