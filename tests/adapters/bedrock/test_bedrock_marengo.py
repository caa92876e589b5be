"""Marengo 3.0 and 2.7 through the Bedrock analyzer: async video jobs, S3 output from moto, text queries."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.adapters.bedrock.bedrock_rig import (
    ARN,
    BUCKET,
    OWNER,
    VIDEO_ID,
    Captured,
    Rig,
    async_status,
    fixture_bytes,
    fixture_json,
    invoke_response,
    make_video,
)

from milkmobs.adapters.aws.bedrock.marengo import client_request_token
from milkmobs.domain import ModelType
from milkmobs.domain.errors import AnalysisError, ConfigurationError, InvalidInputError, TransientAnalysisError
from milkmobs.ports import AsyncVideoEmbedder, EmbeddingJob

M30 = "twelvelabs.marengo-embed-3-0-v1:0"
M27 = "twelvelabs.marengo-embed-2-7-v1:0"
MEDIA = {"s3Location": {"uri": f"s3://{BUCKET}/vid_{VIDEO_ID}.mp4", "bucketOwner": OWNER}}


def expect_start(rig: Rig, model_id: str) -> tuple[Captured, Captured]:
    model_input, token = Captured(), Captured()
    rig.stubber.add_response(
        "start_async_invoke",
        {"invocationArn": ARN},
        {
            "modelId": model_id,
            "modelInput": model_input,
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/embeddings/"}},
            "clientRequestToken": token,
        },
    )
    return model_input, token


def expect_status(rig: Rig, status: str, **kwargs: str) -> None:
    rig.stubber.add_response("get_async_invoke", async_status(status, **kwargs), {"invocationArn": ARN})


def unit(values: list[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_marengo_30_video_request_is_the_nested_documented_form(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    model_input, token = expect_start(rig, M30)

    job = rig.analyzer().start_video_embedding(video)

    assert job == EmbeddingJob(job_id=ARN, video_id=VIDEO_ID)
    assert model_input.json == {
        "inputType": "video",
        "video": {"mediaSource": MEDIA, "embeddingOption": ["visual"], "embeddingScope": ["clip", "asset"]},
    }
    assert token.values == [client_request_token(VIDEO_ID, M30, "visual")]


def test_marengo_27_video_request_is_the_flat_documented_form(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    model_input, _ = expect_start(rig, M27)

    rig.analyzer(marengo_model_id=M27).start_video_embedding(video)

    assert model_input.json == {"inputType": "video", "mediaSource": MEDIA, "embeddingOption": ["visual-text"]}


def test_the_idempotency_token_is_stable_per_video_model_and_option() -> None:
    token = client_request_token(VIDEO_ID, M30, "visual")
    assert token == client_request_token(VIDEO_ID, M30, "visual")
    assert token != client_request_token("another", M30, "visual")
    assert token != client_request_token(VIDEO_ID, M27, "visual-text")
    assert 1 <= len(token) <= 256 and all(33 <= ord(c) <= 126 for c in token)  # botocore: [!-~]*


def test_marengo_30_completed_job_uses_the_asset_vector_read_from_s3(rig: Rig) -> None:
    video = make_video(duration=11.5)
    rig.put_video(video)
    rig.put_output("marengo30_video_output.json")
    expect_status(rig, "InProgress")
    expect_status(rig, "Completed")
    analyzer = rig.analyzer()
    job = EmbeddingJob(job_id=ARN, video_id=VIDEO_ID)

    assert analyzer.check_video_embedding(job, video) is None
    out = analyzer.check_video_embedding(job, video)

    assert out is not None
    segments = fixture_json("marengo30_video_output.json")["data"]
    asset = next(s for s in segments if s["embeddingOption"] == "visual" and s["embeddingScope"] == "asset")
    np.testing.assert_allclose(out.value.vector, unit(asset["embedding"]), atol=1e-6)
    assert out.value.model_id == M30 and out.value.dimension == 512
    assert float(np.linalg.norm(out.value.vector)) == pytest.approx(1.0, abs=1e-5)
    (usage,) = out.usage
    assert (usage.model_id, usage.model_type, usage.video_seconds) == (M30, ModelType.MARENGO, 11.5)


def test_marengo_30_single_object_output_is_accepted(rig: Rig) -> None:
    video = make_video(duration=None)
    rig.put_video(video)
    rig.put_output("marengo30_video_output_single.json")
    expect_status(rig, "Completed")

    out = rig.analyzer().check_video_embedding(EmbeddingJob(ARN, VIDEO_ID), video)

    assert out is not None
    expected = unit(fixture_json("marengo30_video_output_single.json")["data"]["embedding"])
    np.testing.assert_allclose(out.value.vector, expected, atol=1e-6)
    assert out.usage[0].video_seconds == 4.2  # duration unknown: the output's coverage


def test_marengo_27_mean_pools_the_clips_of_the_configured_option(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    rig.put_output("marengo27_video_output.json")
    expect_status(rig, "Completed")

    out = rig.analyzer(marengo_model_id=M27).check_video_embedding(EmbeddingJob(ARN, VIDEO_ID), video)

    assert out is not None and out.value.dimension == 1024
    clips = [unit(s["embedding"]) for s in fixture_json("marengo27_video_output.json")["data"]]
    expected = unit(list((clips[0] + clips[1]) / 2))  # the two visual-text clips, not the audio ones
    np.testing.assert_allclose(out.value.vector, expected, atol=1e-6)


def test_a_failed_job_raises_with_the_service_reason(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    expect_status(rig, "Failed", failure="The video could not be decoded")

    with pytest.raises(AnalysisError) as caught:
        rig.analyzer().check_video_embedding(EmbeddingJob(ARN, VIDEO_ID), video)

    assert not isinstance(caught.value, TransientAnalysisError)
    assert "could not be decoded" in caught.value.message and VIDEO_ID in caught.value.message
    assert caught.value.model_id == M30


def test_completed_job_without_output_is_an_actionable_error(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    expect_status(rig, "Completed")

    with pytest.raises(AnalysisError, match=r"no output\.json"):
        rig.analyzer().check_video_embedding(EmbeddingJob(ARN, VIDEO_ID), video)


def test_output_of_the_wrong_dimension_is_refused(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    wrong = {"data": [{"embeddingOption": "visual", "embeddingScope": "asset", "embedding": [0.5] * 1024}]}
    rig.s3.put_object(Bucket=BUCKET, Key="embeddings/abcdef123456/output.json", Body=json.dumps(wrong).encode())
    expect_status(rig, "Completed")

    with pytest.raises(AnalysisError, match="dimension 1024, expected 512"):
        rig.analyzer().check_video_embedding(EmbeddingJob(ARN, VIDEO_ID), video)


def test_blocking_embed_video_starts_then_polls_until_done(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    rig.put_output("marengo30_video_output.json")
    expect_start(rig, M30)
    expect_status(rig, "InProgress")
    expect_status(rig, "InProgress")
    expect_status(rig, "Completed")
    analyzer = rig.analyzer(poll_interval_seconds=7.0)

    out = analyzer.embed_video(video)

    assert out.value.dimension == 512
    assert rig.sleeps == [7.0, 7.0]
    assert isinstance(analyzer, AsyncVideoEmbedder)


def test_a_conflicting_restart_finds_the_job_already_started(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    rig.stubber.add_client_error(
        "start_async_invoke", service_error_code="ConflictException", service_message="exists", http_status_code=400
    )
    token = client_request_token(VIDEO_ID, M30, "visual")
    summary = {**async_status("InProgress"), "clientRequestToken": token}
    rig.stubber.add_response("list_async_invokes", {"asyncInvokeSummaries": [summary]})

    assert rig.analyzer().start_video_embedding(video).job_id == ARN


@pytest.mark.parametrize(
    ("model_id", "region", "invoke_id", "body", "fixture"),
    [
        (M30, "us-east-1", M30, {"inputType": "text", "text": {"inputText": "drinking milk"}}, "marengo30_text"),
        (
            M30,
            "eu-west-1",
            f"eu.{M30}",
            {"inputType": "text", "text": {"inputText": "drinking milk"}},
            "marengo30_text",
        ),
        (
            M27,
            "us-east-1",
            f"us.{M27}",
            {"inputType": "text", "inputText": "drinking milk", "textTruncate": "end"},
            "marengo27_text",
        ),
    ],
)
def test_text_embedding_request_and_vector(
    rig: Rig, model_id: str, region: str, invoke_id: str, body: dict[str, object], fixture: str
) -> None:
    sent = Captured()
    raw = fixture_bytes(f"{fixture}_response.json")
    rig.stubber.add_response(
        "invoke_model",
        invoke_response(raw),
        {"modelId": invoke_id, "body": sent, "contentType": "application/json", "accept": "application/json"},
    )

    out = rig.analyzer(marengo_model_id=model_id, region=region).embed_text("drinking milk")

    assert sent.json == body
    np.testing.assert_allclose(
        out.value.vector, unit(fixture_json(f"{fixture}_response.json")["data"][0]["embedding"]), atol=1e-6
    )
    assert out.value.model_id == model_id
    assert out.usage[0].model_type == ModelType.MARENGO and out.usage[0].invocations == 1


def test_empty_text_is_refused_without_a_call(rig: Rig) -> None:
    with pytest.raises(InvalidInputError):
        rig.analyzer().embed_text("   ")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"embedding_dimension": 1024}, "does not match"),
        ({"marengo_model_id": M27, "embedding_dimension": 512}, "does not match"),
        ({"embedding_option": "visual-text"}, "not one of"),
        ({"marengo_model_id": "amazon.titan-embed-text-v2:0"}, "unsupported embedding model"),
        ({"pegasus_model_id": "anthropic.claude-v2"}, "unsupported insights model"),
        ({"max_output_tokens": 8192}, "outside Pegasus"),
    ],
)
def test_inconsistent_configuration_is_refused(rig: Rig, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        rig.analyzer(**overrides)


def test_dimension_comes_from_the_model(rig: Rig) -> None:
    assert rig.analyzer().embedding_dimension == 512
    assert rig.analyzer(marengo_model_id=f"us.{M27}").embedding_dimension == 1024
    assert rig.analyzer(marengo_model_id=f"us.{M27}").embedding_model_id == M27


def test_a_conflict_that_cannot_be_resolved_reports_the_conflict(rig: Rig) -> None:
    video = make_video()
    rig.put_video(video)
    rig.stubber.add_client_error(
        "start_async_invoke",
        service_error_code="ConflictException",
        service_message="token reused",
        http_status_code=400,
    )
    rig.stubber.add_client_error(
        "list_async_invokes", service_error_code="AccessDeniedException", service_message="no", http_status_code=403
    )

    with pytest.raises(AnalysisError, match="ConflictException — token reused"):
        rig.analyzer().start_video_embedding(video)
