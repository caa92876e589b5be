"""``milkmobs check-aws``: the bundled clip goes to the bucket (moto), each model is called through the
library's adapter (botocore Stubber with the documented answers), one PASS/FAIL line per contract."""

from __future__ import annotations

import io
from typing import Any

import av
import pytest
from tests.adapters.bedrock.bedrock_rig import (
    ARN,
    BUCKET,
    OWNER,
    REGION,
    Captured,
    Rig,
    async_status,
    fixture_bytes,
    invoke_response,
    shared_session,
)

from milkmobs.cli import check_aws
from milkmobs.cli.main import build_parser
from milkmobs.settings import Settings

PEGASUS = "twelvelabs.pegasus-1-2-v1:0"
M30 = "twelvelabs.marengo-embed-3-0-v1:0"


class _Session:
    """The session check-aws is given: bedrock-runtime is the stubbed client, S3 is moto's."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime

    def client(self, name: str, **kwargs: Any) -> Any:
        return self._runtime if name == "bedrock-runtime" else shared_session().client(name, **kwargs)


def _settings() -> Settings:
    return Settings(backend="aws", aws={"region": REGION, "media_bucket": BUCKET, "media_bucket_owner": OWNER})


def _expect_pegasus(rig: Rig, raw: bytes | None = None) -> Captured:
    body = Captured()
    params = {"modelId": f"us.{PEGASUS}", "body": body, "contentType": "application/json", "accept": "application/json"}
    if raw is None:
        rig.stubber.add_client_error(
            "invoke_model",
            service_error_code="ValidationException",
            http_status_code=400,
            service_message="Malformed input request: responseFormat",
            expected_params=params,
        )
    else:
        rig.stubber.add_response("invoke_model", invoke_response(raw), params)
    return body


def _expect_marengo(rig: Rig, start: Captured) -> None:
    rig.stubber.add_response(
        "start_async_invoke",
        {"invocationArn": ARN},
        {
            "modelId": M30,
            "modelInput": start,
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/embeddings/"}},
            "clientRequestToken": Captured(),
        },
    )
    rig.stubber.add_response("get_async_invoke", async_status("Completed"), {"invocationArn": ARN})
    # what Bedrock writes when the job completes
    rig.s3.put_object(
        Bucket=BUCKET, Key="embeddings/abcdef123456/output.json", Body=fixture_bytes("marengo30_video_output.json")
    )
    rig.stubber.add_response(
        "invoke_model",
        invoke_response(fixture_bytes("marengo30_text_response.json")),
        {
            "modelId": M30,
            "body": Captured(),
            "contentType": "application/json",
            "accept": "application/json",
        },
    )


def test_the_bundled_clip_is_a_real_video_pegasus_accepts() -> None:
    data = check_aws.clip_bytes()
    assert 4_000 < len(data) < 40_000  # tiny, shipped as package data
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert container.duration is not None and container.duration / 1e6 >= 4.0  # Pegasus: at least 4 s
        assert (video.width, video.height) == (360, 360)  # Pegasus: at least 360x360
        assert container.duration / 1e6 == pytest.approx(check_aws.CLIP_SECONDS, abs=0.1)


def test_every_contract_passes_on_the_documented_answers(rig: Rig) -> None:
    pegasus = _expect_pegasus(rig, fixture_bytes("pegasus_insights.json"))
    start = Captured()
    _expect_marengo(rig, start)
    out = io.StringIO()

    code = check_aws.command(
        build_parser().parse_args(["check-aws"]), _settings(), out=out, session=_Session(rig.runtime)
    )

    lines = out.getvalue().splitlines()
    assert code == 0, lines
    assert [line.split()[:2] for line in lines[:3]] == [
        ["PASS", "pegasus"],
        ["PASS", "marengo-video"],
        ["PASS", "marengo-text"],
    ]
    assert lines[-1] == "3 passed, 0 failed"
    # the clip was put in the bucket and both models pointed at it, with the documented request shapes
    sent = pegasus.json
    uri = sent["mediaSource"]["s3Location"]["uri"]
    assert uri.startswith(f"s3://{BUCKET}/checks/milkmobs-check-") and uri.endswith(".mp4")
    assert sent["responseFormat"]["type"] == "json_schema" and set(sent["responseFormat"]["jsonSchema"]) == {
        "name",
        "schema",
    }
    assert start.json["video"]["mediaSource"]["s3Location"]["uri"] == uri
    # and removed afterwards
    assert rig.s3.list_objects_v2(Bucket=BUCKET, Prefix="checks/").get("KeyCount") == 0


def test_a_refused_contract_fails_with_the_services_reason_and_the_others_still_run(rig: Rig) -> None:
    _expect_pegasus(rig, None)
    _expect_marengo(rig, Captured())
    out = io.StringIO()

    code = check_aws.command(
        build_parser().parse_args(["check-aws"]), _settings(), out=out, session=_Session(rig.runtime)
    )

    lines = out.getvalue().splitlines()
    assert code == 1
    assert lines[0].startswith("FAIL  pegasus") and "responseFormat" in lines[0]
    assert lines[1].startswith("PASS  marengo-video") and lines[2].startswith("PASS  marengo-text")
    assert lines[-1] == "2 passed, 1 failed"


def test_a_bucket_that_does_not_exist_is_one_clear_failure(rig: Rig) -> None:
    configured = _settings()
    aws = configured.aws.model_copy(update={"media_bucket": "no-such-bucket"})
    settings = configured.model_copy(update={"aws": aws})
    results = check_aws.run_checks(settings, session=_Session(rig.runtime))  # type: ignore[arg-type]
    assert [(r.name, r.passed) for r in results] == [("upload", False)]
    assert "s3://no-such-bucket/checks/" in results[0].detail and "NoSuchBucket" in results[0].detail


def test_milkmobs_check_aws_exits_non_zero_when_a_contract_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from milkmobs.cli.main import main

    outcome = [check_aws.ContractResult("pegasus", True, "ok"), check_aws.ContractResult("marengo-text", False, "no")]
    monkeypatch.setattr(check_aws, "run_checks", lambda settings, session=None: outcome)
    assert main(["check-aws"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "PASS  pegasus        ok",
        "FAIL  marengo-text   no",
        "1 passed, 1 failed",
    ]
