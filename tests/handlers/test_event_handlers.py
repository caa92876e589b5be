"""The event-driven Lambdas: S3 notifications, the state machine's tasks, the schedule, CloudFormation."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.handlers.conftest import MILK_BYTES, custom_resource_event, s3_event, scheduled_event

from milkmobs.api.auth import CognitoGroupAuthorizer
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest
from milkmobs.core.workflow import ANALYSIS_WORKFLOW
from milkmobs.domain import ForbiddenError, InvalidInputError, UnauthorizedError, VideoStatus
from milkmobs.lambdas import (
    _runtime,
    analysis_marengo,
    analysis_mark_failed,
    analysis_mark_processing,
    analysis_pegasus,
    analysis_write_result,
    cluster_embeddings,
    cluster_video,
    create_opensearch_index,
    generate_thumbnail,
    start_analysis,
    validate_video,
)
from milkmobs.settings import Settings

#: Every function of the seed architecture, by its module name.
SEED_FUNCTIONS = [
    "create_upload",
    "list_user_videos",
    "get_video_detail",
    "get_feed",
    "list_mobs",
    "get_mob",
    "search_similar",
    "get_execution_history",
    "admin_list_videos",
    "admin_delete_video",
    "admin_get_stats",
    "admin_get_usage_stats",
    "start_analysis",
    "generate_thumbnail",
    "analysis_mark_processing",
    "analysis_pegasus",
    "analysis_marengo",
    "analysis_write_result",
    "validate_video",
    "cluster_video",
    "cluster_embeddings",
    "create_opensearch_index",
]


@pytest.mark.parametrize("module", SEED_FUNCTIONS + [n.replace("-", "_") for n in ANALYSIS_WORKFLOW.lambda_functions()])
def test_every_function_has_an_entry_module(module: str) -> None:
    handler = importlib.import_module(f"milkmobs.lambdas.{module}").handler
    assert callable(handler)


def _stored_video(app: MilkMobs, hashtags: list[str] | None = None, data: bytes = MILK_BYTES) -> tuple[str, str]:
    """A submitted video whose file is stored, but no notification sent yet (its own file: a user's
    second upload of the same bytes is refused as a duplicate)."""
    data += f" {uuid.uuid4().hex}".encode()
    sub = app.submit_video(SubmitRequest(user_id="u1", hashtags=hashtags or ["gotmilk"], size_bytes=len(data)))
    key = app.ports.media.accept_upload(sub.upload.fields, data)  # type: ignore[attr-defined]
    return sub.video_id, key


def test_start_analysis_ignores_other_keys_decodes_and_is_idempotent(app: MilkMobs, context: Any) -> None:
    video_id, key = _stored_video(app)
    event = s3_event("thumbnails/x.jpg", key, "vid_notes.txt", "uploads/other file.mp4")
    answer = start_analysis.handler(event, context)
    assert answer["started"] == [video_id]
    assert answer["ignored"] == ["thumbnails/x.jpg", "vid_notes.txt", "uploads/other file.mp4"]
    assert app.get_video(video_id).status.value == "validated"
    again = start_analysis.handler(s3_event(key), context)
    assert again["refused"] == [] and len(app.execution_history(video_id)) == 1


def test_start_analysis_refuses_an_unknown_video_without_failing_the_batch(app: MilkMobs, context: Any) -> None:
    video_id, key = _stored_video(app)
    answer = start_analysis.handler(s3_event("vid_0000feedbeef.mp4", key), context)
    assert [r["key"] for r in answer["refused"]] == ["vid_0000feedbeef.mp4"]
    assert answer["started"] == [video_id]


def test_the_state_machine_tasks_chain_their_json(app: MilkMobs, context: Any) -> None:
    video_id, _key = _stored_video(app)
    # Step Functions runs after start-analysis moved the video to uploaded; do that part by hand.
    video = app.ports.videos.get(video_id)
    app.ports.videos.save(
        video.transitioned(VideoStatus.UPLOADED, at=app.ports.clock.now()), expected_status=video.status
    )

    state = analysis_mark_processing.handler({"videoId": video_id}, context)
    assert state == {"videoId": video_id, "status": "processing"}
    pegasus = analysis_pegasus.handler({"videoId": video_id}, context)
    embedding = analysis_marengo.handler({"videoId": video_id, "action": "start"}, context)
    while not embedding["done"]:
        embedding = analysis_marengo.handler({"videoId": video_id, "job": embedding["job"], "action": "check"}, context)
    merged = {"videoId": video_id, "insights": pegasus["insights"], "embedding": embedding["embedding"]}
    assert analysis_write_result.handler(merged, context)["videoId"] == video_id
    validated = validate_video.handler({"videoId": video_id}, context)
    assert validated["status"] == "validated" and validated["event"] is None  # the placement emits it
    clustered = cluster_video.handler({"videoId": video_id}, context)
    assert clustered["mobId"] and app.get_video(video_id).mob_id == clustered["mobId"]
    assert clustered["event"]["videoId"] == video_id and clustered["event"]["mobId"] == clustered["mobId"]


def test_mark_failed_records_the_step_and_error(app: MilkMobs, context: Any) -> None:
    video_id, _ = _stored_video(app)
    state = {
        "videoId": video_id,
        "failedStep": "PegasusAnalysis",
        "error": {"Error": "AnalysisError", "Cause": '{"errorMessage": "model refused", "errorType": "X"}'},
    }
    analysis_mark_failed.handler(state, context)
    video = app.get_video(video_id)
    assert video.status.value == "failed" and video.failure is not None
    assert video.failure.step == "PegasusAnalysis" and "model refused" in video.failure.error


def test_step_errors_propagate_by_class_for_retry_and_catch(app: MilkMobs, context: Any) -> None:
    with pytest.raises(InvalidInputError):
        analysis_pegasus.handler({}, context)


def test_scheduled_reclustering(app: MilkMobs, context: Any) -> None:
    for tags in (["gotmilk"], ["gotmilk"], ["skate", "milk"]):
        _video_id, key = _stored_video(app, hashtags=tags)
        start_analysis.handler(s3_event(key), context)
    report = cluster_embeddings.handler(scheduled_event(), context)
    assert report["videos"] == 3 and report["mobs"] >= 1


def test_generate_thumbnail(app: MilkMobs, context: Any) -> None:
    video_id, _ = _stored_video(app)
    answer = generate_thumbnail.handler({"videoId": video_id}, context)
    assert answer["thumbnailKey"] and app.ports.media.exists(answer["thumbnailKey"])
    with pytest.raises(InvalidInputError):
        generate_thumbnail.handler({}, context)


class _IndexWithCreate:
    def __init__(self, fail: bool = False) -> None:
        self.calls, self.fail = 0, fail
        self.index_name, self.dimension = "milkmobs-videos", 512

    def create_index(self) -> bool:
        self.calls += 1
        if self.fail:
            raise RuntimeError("cluster red")
        return self.calls == 1


@pytest.fixture
def index_app(settings: Settings) -> Iterator[Callable[[_IndexWithCreate], MilkMobs]]:
    """Install an application whose vector index has ``create_index`` (as the OpenSearch one does)."""
    built: list[MilkMobs] = []

    def install(index: _IndexWithCreate) -> MilkMobs:
        application = build(settings, index=index)
        _runtime.install(application, settings_override=settings)
        built.append(application)
        return application

    yield install
    _runtime.install(None)
    for application in built:
        application.close()


def test_custom_resource_create_update_delete(index_app: Callable[[_IndexWithCreate], MilkMobs], context: Any) -> None:
    index = _IndexWithCreate()
    index_app(index)
    created = create_opensearch_index.handler(custom_resource_event("Create"), context)
    assert created["PhysicalResourceId"] == "milkmobs-vector-index/milkmobs-videos"
    assert created["Data"] == {"IndexName": "milkmobs-videos", "Dimension": "512", "Created": "true"}
    updated = create_opensearch_index.handler(custom_resource_event("Update", created["PhysicalResourceId"]), context)
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"] and updated["Data"]["Created"] == "false"
    deleted = create_opensearch_index.handler(custom_resource_event("Delete", created["PhysicalResourceId"]), context)
    assert deleted == {"PhysicalResourceId": created["PhysicalResourceId"]} and index.calls == 2


def test_custom_resource_failure_raises_so_the_provider_reports_it(
    index_app: Callable[[_IndexWithCreate], MilkMobs], context: Any
) -> None:
    index_app(_IndexWithCreate(fail=True))
    with pytest.raises(RuntimeError, match="cluster red"):
        create_opensearch_index.handler(custom_resource_event("Create"), context)
    with pytest.raises(InvalidInputError):
        create_opensearch_index.handler({"RequestType": "Explode"}, context)


def test_custom_resource_without_create_index_succeeds(app: MilkMobs, context: Any) -> None:
    answer = create_opensearch_index.handler(custom_resource_event("Create"), context)
    assert answer["PhysicalResourceId"] == "milkmobs-vector-index" and answer["Data"]["Created"] == "false"


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        (None, UnauthorizedError),
        ({}, UnauthorizedError),
        ({"sub": "u", "cognito:groups": "editors"}, ForbiddenError),
        ({"sub": "u"}, ForbiddenError),
    ],
)
def test_cognito_claims_authorizer_refuses(claims: dict[str, str] | None, error: type[Exception]) -> None:
    event: dict[str, Any] = {"requestContext": {} if claims is None else {"authorizer": {"claims": claims}}}
    with pytest.raises(error):
        CognitoGroupAuthorizer().authorize(event)


@pytest.mark.parametrize("groups", ["admins", "editors,admins", "[editors admins]", ["admins"]])
def test_cognito_claims_authorizer_admits_admins(groups: Any) -> None:
    CognitoGroupAuthorizer().authorize({"requestContext": {"authorizer": {"claims": {"cognito:groups": groups}}}})


def test_start_analysis_requests_each_thumbnail_asynchronously(
    app: MilkMobs, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import boto3
    from botocore.stub import Stubber

    video_id, key = _stored_video(app)
    lambda_client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(lambda_client)
    stubber.add_response(
        "invoke",
        {"StatusCode": 202},
        {
            "FunctionName": "milkmobs-generate-thumbnail",
            "InvocationType": "Event",
            "Payload": json.dumps({"videoId": video_id}).encode(),
        },
    )
    stubber.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    from milkmobs.adapters.aws.clients import AwsClients

    monkeypatch.setattr(AwsClients, "lambda_", lambda self: lambda_client)
    configured = Settings(backend="memory", aws={"thumbnail_function_name": "milkmobs-generate-thumbnail"})
    _runtime.install(app, settings_override=configured)
    with stubber:
        assert start_analysis.handler(s3_event(key), context)["started"] == [video_id]
        other_id, other_key = _stored_video(app)
        # a refused thumbnail request is logged; the upload still counts as started
        assert start_analysis.handler(s3_event(other_key), context)["started"] == [other_id]
        stubber.assert_no_pending_responses()


def test_mark_failed_takes_the_timed_out_execution_event_the_stack_routes_to_it(app: MilkMobs, context: Any) -> None:
    video_id, _ = _stored_video(app)
    video = app.ports.videos.get(video_id)
    app.ports.videos.save(
        video.transitioned(VideoStatus.UPLOADED, at=app.ports.clock.now()), expected_status=video.status
    )
    analysis_mark_processing.handler({"videoId": video_id}, context)
    # what deploy's UncaughtExecutionEnds rule sends (the execution is named by the video id)
    event = {
        "videoId": video_id,
        "failedStep": "AnalysisWorkflow",
        "error": {"Error": "TIMED_OUT", "Cause": "the analysis execution ended before finishing; upload it again"},
    }
    answer = analysis_mark_failed.handler(event, context)
    assert answer["status"] == "failed"
    failure = app.get_video(video_id).failure
    assert failure is not None and failure.step == "AnalysisWorkflow" and "ended before finishing" in failure.error


def _refusal(status: int) -> Exception:
    """What the OpenSearch adapter raises for a refused or failing call (its cause keeps the status)."""
    from opensearchpy import AuthorizationException, TransportError

    from milkmobs.adapters.aws.opensearch.errors import translate

    cause = AuthorizationException(403, "security_exception", {}) if status == 403 else TransportError(status, "x", {})
    try:
        raise translate(cause, doing="creating OpenSearch index milkmobs-videos") from cause
    except Exception as exc:
        return exc


def test_the_index_is_retried_while_a_new_domain_answers_403_and_5xx() -> None:
    refusals = [_refusal(403), _refusal(503), _refusal(403)]
    slept: list[float] = []

    def create() -> bool:
        if refusals:
            raise refusals.pop(0)
        return True

    assert create_opensearch_index.create_when_ready(create, lambda: 600_000, sleep=slept.append) is True
    assert slept == [5.0, 10.0, 20.0]


def test_index_retries_stop_in_time_to_report_and_never_hide_a_real_error() -> None:
    from milkmobs.domain import ConfigurationError

    def refused() -> bool:
        raise _refusal(403)

    slept: list[float] = []
    with pytest.raises(ConfigurationError, match="403"):  # 40 s left: one 5 s wait, then the error
        create_opensearch_index.create_when_ready(refused, lambda: 40_000 - 5_000 * len(slept), sleep=slept.append)
    assert slept == [5.0]

    def broken() -> bool:
        raise RuntimeError("mapping conflict")

    with pytest.raises(RuntimeError, match="mapping conflict"):
        create_opensearch_index.create_when_ready(broken, lambda: 600_000, sleep=slept.append)
    assert slept == [5.0]


def test_the_sweep_redrives_an_upload_whose_notification_was_lost(app: MilkMobs, context: Any) -> None:
    from datetime import timedelta

    from milkmobs.core.sweep import UPLOADED_GRACE
    from milkmobs.lambdas import sweep_stuck_videos

    video_id, _ = _stored_video(app)
    video = app.ports.videos.get(video_id)
    long_ago = app.ports.clock.now() - UPLOADED_GRACE - timedelta(minutes=1)
    app.ports.videos.save(
        video.transitioned(VideoStatus.UPLOADED, at=long_ago, uploaded_at=long_ago),
        expected_status=VideoStatus.PENDING_UPLOAD,
    )
    answer = sweep_stuck_videos.handler(scheduled_event(), context)
    assert answer == {"restarted": [video_id], "running": [], "failed": [], "expired": []}
    assert app.get_video(video_id).status is VideoStatus.VALIDATED
    assert sweep_stuck_videos.handler(scheduled_event(), context)["restarted"] == []
