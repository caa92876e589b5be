"""The synthesized state machine really runs: moto's Step Functions interpreter executes the ASL
from the template, each Lambda task runs the real ``milkmobs.lambdas`` handler the template names.

Everything AWS is moto, built from the template where it matters (the tables' keys and indexes);
the analyzer is the memory FakeAnalyzer (moto has no Bedrock) and the vector index the in-memory
one (moto has no OpenSearch data plane). One video of each kind: validated (clustered, event
emitted), rejected (event emitted, no mob), and one whose analysis keeps failing (FAILED, the error
recorded on the video, no event).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pytest
from deploy_support import Synth, resolve

moto = pytest.importorskip("moto")

from milkmobs.adapters.memory.analyzer import FakeAnalyzer  # noqa: E402
from milkmobs.domain import EVENT_SOURCE, Video, VideoStatus  # noqa: E402
from milkmobs.domain.campaign import Campaign  # noqa: E402
from milkmobs.domain.errors import AnalysisError, TransientAnalysisError  # noqa: E402
from milkmobs.ports import ModelOutput  # noqa: E402

REGION = "us-east-1"
CLOUDFRONT_DOMAIN = "d111111abcdef8.cloudfront.net"
DIMENSION = 64  # small vectors keep moto's JSONPath quick
MOTO_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


class RefusingAnalyzer(FakeAnalyzer):
    """The fake, except that Pegasus refuses videos titled ``broken`` on every call, and throttles
    videos titled ``flaky`` on their first call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.throttled: set[str] = set()

    def describe_video(self, video: Video, campaign: Campaign) -> ModelOutput[Any]:
        if video.title == "broken":
            raise AnalysisError("Pegasus could not read the video", video_id=video.video_id,
                                model_id=self.insights_model_id)
        if video.title == "flaky" and video.video_id not in self.throttled:
            self.throttled.add(video.video_id)
            raise TransientAnalysisError("ThrottlingException: slow down", video_id=video.video_id,
                                         model_id=self.insights_model_id)
        return super().describe_video(video, campaign)


@dataclass
class Deployed:
    app: Any
    clients: dict[str, Any]
    queue_url: str
    bucket: str
    invoked: list[str]


def _media_bucket_id(template: dict[str, Any]) -> str:
    (bucket,) = [lid for lid, r in template.items()
                 if r["Type"] == "AWS::S3::Bucket" and "VersioningConfiguration" in r["Properties"]]
    return bucket


def _create_table(dynamodb: Any, name: str, table: dict[str, Any]) -> None:
    """A moto table with exactly the template's keys, attributes and indexes."""
    props = table["Properties"]
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in props["GlobalSecondaryIndexes"]
        ]
    dynamodb.create_table(**request)


def _route_lambda_to_handlers(handlers: dict[str, str], invoked: list[str]) -> Iterator[None]:
    """moto's docker-less Lambda only echoes: run the handler the template names, in process,
    reporting an exception the way Lambda does (FunctionError Unhandled, errorType = class name)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> Any:
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        if name not in handlers:
            return original(self, function_name, qualifier, body, headers, response_headers)
        module_name, _, attribute = handlers[name].rpartition(".")
        invoked.append(name)
        try:
            return json.dumps(getattr(import_module(module_name), attribute)(json.loads(body or "{}"), None)).encode()
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()

    LambdaSimpleBackend.invoke = invoke
    try:
        yield
    finally:
        LambdaSimpleBackend.invoke = original


@pytest.fixture(scope="module")
def deployed(synth: Synth, monkeypatch_module: pytest.MonkeyPatch) -> Iterator[Deployed]:
    import boto3
    from moto import mock_aws

    from milkmobs.adapters.memory.vector_index import InMemoryVectorIndex
    from milkmobs.bootstrap import build
    from milkmobs.lambdas import _runtime
    from milkmobs.settings import Backend, Settings

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch_module.setenv(key, value)
    template = synth.template["Resources"]
    functions = {lid: r["Properties"] for lid, r in template.items()
                 if r["Type"] == "AWS::Lambda::Function" and isinstance(r["Properties"].get("FunctionName"), str)}
    invoked: list[str] = []
    routing = _route_lambda_to_handlers({p["FunctionName"]: p["Handler"] for p in functions.values()}, invoked)
    with mock_aws(config=MOTO_CONFIG):
        next(routing)
        session = boto3.session.Session(region_name=REGION)
        clients = {name: session.client(name) for name in
                   ("dynamodb", "s3", "events", "sqs", "stepfunctions", "lambda", "iam", "secretsmanager")}
        # tables exactly as the template defines them
        names = {}
        for lid, table in template.items():
            if table["Type"] == "AWS::DynamoDB::GlobalTable":
                names[lid] = "videos" if table["Properties"]["KeySchema"][0]["AttributeName"] == "videoId" else "mobs"
                _create_table(clients["dynamodb"], f"milkmobs-{names[lid]}", table)
        bucket = "milkmobs-media"
        clients["s3"].create_bucket(Bucket=bucket)
        clients["s3"].put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        (bus_lid,) = [lid for lid, r in template.items() if r["Type"] == "AWS::Events::EventBus"]
        bus_arn = clients["events"].create_event_bus(Name=template[bus_lid]["Properties"]["Name"])["EventBusArn"]
        queue_url = clients["sqs"].create_queue(QueueName="analysed")["QueueUrl"]
        queue_arn = clients["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        clients["events"].put_rule(Name="analysed", EventBusName="milk-mobs-bus",
                                   EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        clients["events"].put_targets(Rule="analysed", EventBusName="milk-mobs-bus",
                                      Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}])
        # one moto function per template function; the ASL's GetAtt Arn → these ARNs
        role = clients["iam"].create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("placeholder.py", "")
        refs = {f"{bus_lid}.Arn": bus_arn}
        for lid, props in functions.items():
            refs[f"{lid}.Arn"] = clients["lambda"].create_function(
                FunctionName=props["FunctionName"], Runtime="python3.12", Role=role, Handler=props["Handler"],
                Code={"ZipFile": package.getvalue()},
            )["FunctionArn"]
        (machine,) = [r for r in template.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
        machine_arn = clients["stepfunctions"].create_state_machine(
            name=machine["Properties"]["StateMachineName"],
            definition=resolve(machine["Properties"]["DefinitionString"], refs),
            roleArn=role,
        )["stateMachineArn"]
        # The functions' settings are the template's own environment (start-analysis has them all),
        # its references resolved to the moto resources: the deployed wiring, not a hand-made copy.
        resource_ids = {r["Type"]: lid for lid, r in template.items()}
        refs.update({
            **{lid: f"milkmobs-{name}" for lid, name in names.items()},
            _media_bucket_id(template): bucket,
            resource_ids["AWS::StepFunctions::StateMachine"]: machine_arn,
            resource_ids["AWS::SecretsManager::Secret"]: clients["secretsmanager"].create_secret(
                Name="cursor", SecretString="a-cursor-key-of-the-deployment")["ARN"],
            f"{resource_ids['AWS::CloudFront::Distribution']}.DomainName": CLOUDFRONT_DOMAIN,
            f"{resource_ids['AWS::OpenSearchService::Domain']}.DomainEndpoint": "search-v.us-east-1.es.amazonaws.com",
        })
        (start,) = [f for f in functions.values() if f["FunctionName"].endswith("-start-analysis")]
        environment = {k: str(resolve(v, refs)) for k, v in start["Environment"]["Variables"].items()}
        for key, value in environment.items():
            monkeypatch_module.setenv(key, value)
        settings = Settings()
        assert settings.backend is Backend.AWS and settings.state_machine_arn == machine_arn
        assert (settings.videos_table, settings.media_bucket) == ("milkmobs-videos", bucket)
        app = build(
            settings,
            analyzer=lambda adapters: RefusingAnalyzer(adapters.media, dimension=DIMENSION),
            index=InMemoryVectorIndex(DIMENSION),
            media_processor=None,
        )
        _runtime.install(app, settings_override=settings)  # what each Lambda builds at cold start
        try:
            yield Deployed(app, clients, queue_url, bucket, invoked)
        finally:
            _runtime.install()
            app.close()
            next(routing, None)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def _upload_and_analyse(env: Deployed, *, title: str, hashtags: list[str], body: bytes) -> tuple[str, dict[str, Any]]:
    """Submit, store the file, deliver the S3 notification to start-analysis, wait for the execution."""
    from milkmobs.core.views import SubmitRequest
    from milkmobs.lambdas import start_analysis

    submission = env.app.submit_video(
        SubmitRequest(user_id="u1", title=title, hashtags=hashtags, size_bytes=len(body))
    )
    key = submission.upload.fields["key"]
    env.clients["s3"].put_object(Bucket=env.bucket, Key=key, Body=body, ContentType="video/mp4")
    answer = start_analysis.handler(
        {"Records": [{"eventName": "ObjectCreated:Post", "s3": {"bucket": {"name": env.bucket},
                                                                 "object": {"key": key, "size": len(body)}}}]},
        None,
    )
    assert answer["started"] == [submission.video_id], answer
    arn = env.app.workflow.execution_arn(submission.video_id)
    deadline = time.monotonic() + 90
    while (execution := env.clients["stepfunctions"].describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{submission.video_id} still running"
        time.sleep(0.05)
    return submission.video_id, execution


def _events(env: Deployed) -> dict[str, dict[str, Any]]:
    received: dict[str, dict[str, Any]] = {}
    sqs = env.clients["sqs"]
    while messages := sqs.receive_message(QueueUrl=env.queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            detail = json.loads(message["Body"])["detail"]
            received[str(detail["videoId"])] = detail
            sqs.delete_message(QueueUrl=env.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return received


def test_a_campaign_video_is_validated_clustered_and_announced(deployed: Deployed) -> None:
    video_id, execution = _upload_and_analyse(
        deployed, title="milk moustache", hashtags=["gotmilk", "milkmob"], body=b"GOT MILK drinking milk " * 8
    )
    assert execution["status"] == "SUCCEEDED", execution
    video = deployed.app.ports.videos.get(video_id)
    assert video.status is VideoStatus.VALIDATED and video.mob_id
    assert video.validation is not None and video.validation.passed
    event = _events(deployed)[video_id]
    assert event["status"] == "validated" and event["mobId"] == video.mob_id
    for step in ("analysis-mark-processing", "analysis-pegasus", "analysis-marengo", "analysis-write-result",
                 "validate-video", "cluster-video"):
        assert f"milkmobs-{step}" in deployed.invoked


def test_an_off_campaign_video_is_rejected_and_announced(deployed: Deployed) -> None:
    video_id, execution = _upload_and_analyse(
        deployed, title="skate park", hashtags=["skate"], body=b"skateboarding in the park " * 8
    )
    assert execution["status"] == "SUCCEEDED", execution
    video = deployed.app.ports.videos.get(video_id)
    assert video.status is VideoStatus.REJECTED and video.mob_id is None
    assert _events(deployed)[video_id]["status"] == "rejected"


def test_a_video_whose_analysis_keeps_failing_ends_failed_with_its_error(deployed: Deployed) -> None:
    video_id, execution = _upload_and_analyse(deployed, title="broken", hashtags=["gotmilk"], body=b"GOT MILK " * 8)
    assert execution["status"] == "FAILED"
    assert execution.get("error") == "AnalysisError"  # the Fail state passes the original error on
    video = deployed.app.ports.videos.get(video_id)
    assert video.status is VideoStatus.FAILED
    assert video.failure is not None and video.failure.step == "AnalyzeVideo"
    assert "Pegasus could not read the video" in video.failure.error
    assert video_id not in _events(deployed)  # nothing false is announced
    assert "milkmobs-analysis-mark-failed" in deployed.invoked


def test_a_throttled_model_call_is_retried_by_the_state_machine(deployed: Deployed) -> None:
    before = deployed.invoked.count("milkmobs-analysis-pegasus")
    video_id, execution = _upload_and_analyse(
        deployed, title="flaky", hashtags=["gotmilk", "milkmob"], body=b"GOT MILK drinking milk flaky " * 8
    )
    assert execution["status"] == "SUCCEEDED", execution
    assert deployed.invoked.count("milkmobs-analysis-pegasus") - before == 2  # the throttled call, then the retry
    assert deployed.app.ports.videos.get(video_id).status is VideoStatus.VALIDATED


def test_the_api_functions_run_with_the_deployed_settings(deployed: Deployed) -> None:
    """GET /videos/{videoId} through the get-video-detail entry point: CloudFront URLs, as deployed."""
    from milkmobs.lambdas import get_video_detail

    video_id, _ = _upload_and_analyse(deployed, title="milk", hashtags=["gotmilk"], body=b"GOT MILK milk " * 8)
    event = {
        "resource": "/videos/{videoId}", "path": f"/videos/{video_id}", "httpMethod": "GET",
        "headers": {"Accept": "application/json"}, "multiValueHeaders": {}, "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": {"videoId": video_id},
        "requestContext": {"resourcePath": "/videos/{videoId}", "httpMethod": "GET", "path": f"/prod/videos/{video_id}",
                           "stage": "prod", "requestId": "r1"},
        "body": None, "isBase64Encoded": False,
    }
    response = get_video_detail.handler(event, None)
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["videoId"] == video_id and body["status"] == "validated"
    assert body["videoUrl"].startswith(f"https://{CLOUDFRONT_DOMAIN}/vid_")


@pytest.mark.parametrize(("groups", "status"), [("admins", 200), ("editors", 403), (None, 401)])
def test_admin_entry_points_trust_the_cognito_group(deployed: Deployed, groups: str | None, status: int) -> None:
    """What the Cognito authorizer hands the admin functions: claims with the user's groups."""
    from milkmobs_infra.api import ADMIN_GROUP as DEPLOYED_GROUP

    from milkmobs.api.auth import ADMIN_GROUP
    from milkmobs.lambdas import admin_get_stats

    assert DEPLOYED_GROUP == ADMIN_GROUP
    claims = {"sub": "u-1", "cognito:username": "admin"} | ({"cognito:groups": groups} if groups else {})
    event = {
        "resource": "/admin/stats", "path": "/admin/stats", "httpMethod": "GET", "headers": {},
        "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/admin/stats", "httpMethod": "GET", "path": "/prod/admin/stats",
                           "stage": "prod", "requestId": "r2",
                           **({"authorizer": {"claims": claims}} if groups else {})},
    }
    response = admin_get_stats.handler(event, None)
    assert response["statusCode"] == status, response
