"""Every Bedrock call of the model functions is granted by that function's synthesized policy.

moto has no Bedrock, so the deployed tour (test_deploy_state_machine_runs) analyses with the fake
analyzer and records no model call. Here the real Bedrock analyzer runs each path a model function
takes — analysis-pegasus describes a video; analysis-marengo starts an embedding job, finds it again
after a conflicting start, polls it and reads its output from S3; search-similar embeds a query —
under botocore's Stubber (S3 on moto), every call recorded and held against the policy the stack
gives that function. A grant taken out of the declarations fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bundle_support import ACCOUNT, REGION, domain_policies, function_policies, ungranted
from deploy_support import Synth
from milkmobs_infra.function_specs import Model, using_model

pytest.importorskip("moto")

from tests.adapters.bedrock.bedrock_rig import (
    ARN,
    BUCKET,
    VIDEO_ID,
    Rig,
    async_status,
    fixture_bytes,
    invoke_response,
    make_video,
    stubbed_rig,
)

from milkmobs.adapters.aws.bedrock.marengo import client_request_token
from milkmobs.domain import Campaign
from milkmobs.ports import EmbeddingJob

DOMAIN_ARN = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/milkmobs-videos"


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for rig in stubbed_rig():
        yield rig
        rig.stubber.assert_no_pending_responses()


def _recorded(rig: Rig, run: Callable[[], Any]) -> list[dict[str, Any]]:
    """The calls ``run`` makes on the rig's clients, as the bundle workers record them."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        names = {k: params[k] for k in ("Bucket", "Key", "modelId", "invocationArn") if k in params}
        calls.append({"service": model.service_model.signing_name, "operation": model.name, "params": names})

    # before-parameter-build sees every call, also those the Stubber answers at before-call
    for client in (rig.runtime, rig.s3):
        client.meta.events.register("before-parameter-build.*.*", record)
    try:
        run()
    finally:
        for client in (rig.runtime, rig.s3):
            client.meta.events.unregister("before-parameter-build.*.*", record)
    return calls


def _describe(rig: Rig) -> list[dict[str, Any]]:
    video = make_video()
    rig.put_video(video)
    rig.stubber.add_response("invoke_model", invoke_response(fixture_bytes("pegasus_insights.json")))
    return _recorded(rig, lambda: rig.analyzer().describe_video(video, Campaign()))


def _embed_video(rig: Rig) -> list[dict[str, Any]]:
    video = make_video()
    rig.put_video(video)
    rig.put_output("marengo30_video_output.json")
    rig.stubber.add_client_error("start_async_invoke", service_error_code="ConflictException",
                                 service_message="exists", http_status_code=400)  # fmt: skip
    analyzer = rig.analyzer()
    # the conflicting start is found again by its client request token
    summary = {
        **async_status("InProgress"),
        "clientRequestToken": client_request_token(VIDEO_ID, analyzer.embedding_model_id, "visual"),
    }
    rig.stubber.add_response("list_async_invokes", {"asyncInvokeSummaries": [summary]})
    rig.stubber.add_response("get_async_invoke", async_status("Completed"), {"invocationArn": ARN})

    def run() -> None:
        job = analyzer.start_video_embedding(video)
        assert job.job_id == ARN
        assert analyzer.check_video_embedding(EmbeddingJob(job_id=ARN, video_id=VIDEO_ID), video) is not None

    return _recorded(rig, run)


def _embed_text(rig: Rig) -> list[dict[str, Any]]:
    rig.stubber.add_response("invoke_model", invoke_response(fixture_bytes("marengo30_text_response.json")))
    return _recorded(rig, lambda: rig.analyzer().embed_text("drinking milk"))


PATHS: dict[Model, Callable[[Rig], list[dict[str, Any]]]] = {
    Model.PEGASUS: _describe,
    Model.MARENGO: _embed_video,
    Model.MARENGO_TEXT: _embed_text,
}


def _policies(synth: Synth) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """The functions' policies with the media bucket standing for the rig's."""
    buckets = synth.resources("AWS::S3::Bucket").items()
    (media,) = [k for k, b in buckets if "VersioningConfiguration" in b["Properties"]]
    refs = {media: BUCKET, f"{media}.Arn": f"arn:aws:s3:::{BUCKET}"}
    return function_policies(synth.template, refs), domain_policies(synth.template, refs)


@pytest.mark.parametrize("model", list(Model), ids=lambda m: m.value)
def test_each_bedrock_call_of_a_model_function_is_granted_by_its_policy(synth: Synth, rig: Rig, model: Model) -> None:
    function = using_model(model).name
    calls = PATHS[model](rig)
    assert any(c["service"] == "bedrock" for c in calls), calls
    policies, domain = _policies(synth)
    seen, missing = ungranted({function: calls}, policies, domain, domain_arn=DOMAIN_ARN)
    assert seen >= len(calls)
    assert missing == [], "\n".join(missing)


def test_the_conflict_path_asks_for_the_list_permission(synth: Synth, rig: Rig) -> None:
    """The check can fail: the embedding path's calls held against the text search's policy."""
    calls = _embed_video(rig)
    assert {c["operation"] for c in calls} >= {"StartAsyncInvoke", "ListAsyncInvokes", "GetAsyncInvoke", "GetObject"}
    policies, domain = _policies(synth)
    _, missing = ungranted({using_model(Model.MARENGO_TEXT).name: calls}, policies, domain, domain_arn=DOMAIN_ARN)
    assert any("bedrock:ListAsyncInvokes" in m for m in missing), missing
    assert any("bedrock:GetAsyncInvoke" in m for m in missing), missing
