"""The errors the Bedrock analyzer raises: which codes are transient (the workflow retries them), which
botocore already retried (unavailable: retried no more), what people read."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from tests.adapters.bedrock.bedrock_rig import BUCKET, VIDEO_ID, Rig, make_video

from milkmobs.adapters.aws.bedrock.failures import call_once
from milkmobs.domain import Campaign
from milkmobs.domain.errors import AnalysisError, BackendUnavailableError, TransientAnalysisError

PEGASUS = "twelvelabs.pegasus-1-2-v1:0"


def fail(rig: Rig, code: str, status: int, times: int = 1, message: str = "service says no") -> None:
    for _ in range(times):
        rig.stubber.add_client_error(
            "invoke_model", service_error_code=code, service_message=message, http_status_code=status
        )


@pytest.mark.parametrize(
    ("code", "status", "hint"),
    [
        ("ValidationException", 400, "bucket is in us-east-1"),
        ("AccessDeniedException", 403, "bedrock:InvokeModel"),
        ("ResourceNotFoundException", 404, "not available in us-east-1"),
    ],
)
def test_request_errors_are_never_retried(rig: Rig, code: str, status: int, hint: str) -> None:
    video = make_video()
    rig.put_video(video)
    fail(rig, code, status, message="The provided request is not valid")

    with pytest.raises(AnalysisError) as caught:
        rig.analyzer().describe_video(video, Campaign())

    error = caught.value
    assert type(error) is AnalysisError and error.retryable is False
    assert rig.sleeps == []
    assert error.video_id == VIDEO_ID and error.model_id == PEGASUS
    for part in (VIDEO_ID, PEGASUS, code, "The provided request is not valid", hint):
        assert part in error.message


@pytest.mark.parametrize(
    ("code", "status"),
    [("ModelErrorException", 424), ("ModelTimeoutException", 408), ("ServiceQuotaExceededException", 400)],
)
def test_model_faults_are_not_retried_in_the_analyzer_but_reach_the_workflow_as_transient(
    rig: Rig, code: str, status: int
) -> None:
    """A model's own fault botocore never retries: the workflow runs the step again, the analyzer adds nothing."""
    video = make_video()
    rig.put_video(video)
    fail(rig, code, status, times=1)  # nothing else queued: a second call would fail the stubber

    with pytest.raises(TransientAnalysisError) as caught:
        rig.analyzer().describe_video(video, Campaign())

    assert caught.value.retryable is True
    assert "after 1 attempt(s)" in caught.value.message and code in caught.value.message
    assert rig.sleeps == []


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
        ("ModelNotReadyException", 429),
    ],
)
def test_what_botocore_retries_reaches_the_workflow_as_unavailable_which_it_does_not_retry(
    rig: Rig, code: str, status: int
) -> None:
    """botocore owns a call's throttling and faults (the stubber answers once, so its tries are 1 here):
    what is left is a BackendUnavailableError naming the video, the call and what to do."""
    video = make_video()
    rig.put_video(video)
    fail(rig, code, status, times=1)

    with pytest.raises(BackendUnavailableError) as caught:
        rig.analyzer().describe_video(video, Campaign())

    assert not isinstance(caught.value, AnalysisError) and caught.value.video_id == VIDEO_ID
    for part in ("after 1 attempt(s)", code, VIDEO_ID, "InvokeModel", "quota"):
        assert part in caught.value.message
    assert rig.sleeps == []


def test_missing_object_fails_before_any_billed_call(rig: Rig) -> None:
    video = make_video()  # never uploaded; the stubber has no response queued, so a call would error

    with pytest.raises(AnalysisError) as caught:
        rig.analyzer().describe_video(video, Campaign())

    assert type(caught.value) is AnalysisError
    assert f"s3://{BUCKET}/vid_{VIDEO_ID}.mp4 does not exist" in caught.value.message


def test_missing_object_also_stops_the_embedding_job(rig: Rig) -> None:
    with pytest.raises(AnalysisError, match="does not exist"):
        rig.analyzer().start_video_embedding(make_video())


def test_bucket_in_another_region_is_named(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    video = make_video()
    rig.put_video(video)
    original = rig.s3.head_object

    def head_in_other_region(**kwargs: object) -> dict[str, object]:
        response = original(**kwargs)
        response["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] = "eu-central-1"
        return response

    monkeypatch.setattr(rig.s3, "head_object", head_in_other_region)  # the S3 client is shared: undo after

    with pytest.raises(AnalysisError) as caught:
        rig.analyzer().describe_video(video, Campaign())

    assert "eu-central-1" in caught.value.message and "us-east-1" in caught.value.message


def test_network_errors_left_by_botocore_are_unavailable_and_tried_once() -> None:
    calls = 0

    def unreachable() -> None:
        nonlocal calls
        calls += 1
        raise EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    with pytest.raises(BackendUnavailableError, match="could not be reached"):
        call_once(unreachable, operation="InvokeModel", video_id="v1", model_id="m", region="r")
    assert calls == 1


def test_the_media_check_can_be_turned_off(rig: Rig) -> None:
    """Without the HEAD, a missing object reaches Bedrock, whose ValidationException is still explained."""
    rig.stubber.add_client_error(
        "invoke_model",
        service_error_code="ValidationException",
        service_message="The provided S3 URI is not valid",
        http_status_code=400,
    )
    with pytest.raises(AnalysisError) as caught:
        rig.analyzer(check_media=False).describe_video(make_video(), Campaign())
    assert "The provided S3 URI is not valid" in caught.value.message
    assert f"s3://{BUCKET}/vid_{VIDEO_ID}.mp4 exists" in caught.value.message


def test_an_unreadable_object_names_the_permission(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(**_: object) -> None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    monkeypatch.setattr(rig.s3, "head_object", denied)
    with pytest.raises(AnalysisError, match="s3:GetObject") as caught:
        rig.analyzer().start_video_embedding(make_video())
    assert type(caught.value) is AnalysisError
