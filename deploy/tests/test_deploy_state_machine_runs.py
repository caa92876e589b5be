"""The stack as shipped, run: every function's handler from its own bundle against moto over HTTP.

moto's server (Step Functions in parser mode) executes the ASL from the template; each Lambda
invocation — by the state machine, by start-analysis's thumbnail request, or by the test standing
in for API Gateway, S3, EventBridge and CloudFormation — goes to that function's worker: a
``python -I -S`` interpreter holding only the code asset and the function's layers
(``bundle_support``), with the function's own environment from the template. Media is real (mp4s
probed and thumbnailed by the media layer's ffmpeg); the analyzer is the memory FakeAnalyzer
(moto has no Bedrock) and OpenSearch is the HTTP test double (moto has no data plane).

A tour drives every function once or more; the tests read what it saw. Every AWS call each
handler made (botocore ``before-call`` hooks, OpenSearch requests) must be granted by that
function's synthesized policy — a missing grant fails here, not in production.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from bundle_support import (
    ACCOUNT,
    REGION,
    CallLog,
    HandlerWorker,
    Invocation,
    allowed,
    domain_policies,
    function_policies,
    iam_requirements,
    ungranted,
)
from bundle_support import worker_environment as lambda_environment
from deploy_support import Synth, moto_distribution, resolve
from milkmobs_infra.function_specs import FUNCTION_SPECS, SPECS_BY_NAME, Search
from milkmobs_infra.functions import settings_read_by

moto = pytest.importorskip("moto")

from tests.handlers.conftest import api_event, custom_resource_event, scheduled_event  # noqa: E402
from tests.media_support import make_mp4  # noqa: E402
from tests.opensearch_double import OpenSearchTestDouble  # noqa: E402

from milkmobs.domain import EVENT_SOURCE  # noqa: E402

CLOUDFRONT_DOMAIN = "d111111abcdef8.cloudfront.net"
DIMENSION = 64  # small vectors keep moto's JSONPath quick
DOMAIN_ARN = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/milkmobs-videos"
ADMIN_CLAIMS = {"sub": "u-admin", "cognito:username": "admin", "cognito:groups": "admins"}

#: Checks an embedding job needs before it is done (as Marengo's asynchronous job on Bedrock).
EMBEDDING_CHECKS = 2

# Run in each worker before its first invocation: the analyzer is the fake (moto has no Bedrock);
# Pegasus refuses videos titled "broken" and answers "flaky" ones with a model fault on their first
# call (throttling never reaches the state machine: botocore owns it in the Lambda); the
# embedding is an asynchronous job done at its EMBEDDING_CHECKS-th check (the polling loop runs).
WORKER_SETUP = """
from milkmobs.adapters.memory.analyzer import FakeAnalyzer
from milkmobs.bootstrap import build
from milkmobs.domain.errors import AnalysisError, TransientAnalysisError
from milkmobs.lambdas import _runtime
from milkmobs.ports import EmbeddingJob


class RefusingAnalyzer(FakeAnalyzer):
    faulted = set()
    checks = {}

    def start_video_embedding(self, video):
        self.checks[video.video_id] = 0
        return EmbeddingJob(job_id=f"job-{video.video_id}", video_id=video.video_id)

    def check_video_embedding(self, job, video):
        self.checks[job.video_id] = self.checks.get(job.video_id, 0) + 1
        return self.embed_video(video) if self.checks[job.video_id] >= EMBEDDING_CHECKS else None

    def describe_video(self, video, campaign):
        if video.title == "broken":
            raise AnalysisError("Pegasus could not read the video", video_id=video.video_id,
                                model_id=self.insights_model_id)
        if video.title == "flaky" and video.video_id not in self.faulted:
            self.faulted.add(video.video_id)
            raise TransientAnalysisError("ModelErrorException: the model failed, try again", video_id=video.video_id,
                                         model_id=self.insights_model_id)
        return super().describe_video(video, campaign)


settings = _runtime.settings()
_runtime.install(build(settings, analyzer=lambda adapters: RefusingAnalyzer(adapters.media, dimension=DIMENSION)),
                 settings_override=settings)
""".replace("DIMENSION", str(DIMENSION)).replace("EMBEDDING_CHECKS", str(EMBEDDING_CHECKS))


@dataclass
class Deployed:
    clients: dict[str, Any]
    bucket: str
    queue_url: str
    refs: dict[str, str]
    environments: dict[str, dict[str, str]]
    definition: str  # the state machine's ASL, as created in moto
    log: CallLog = field(default_factory=CallLog)
    invoked: list[str] = field(default_factory=list)
    events: list[tuple[str, Any]] = field(default_factory=list)
    workers: dict[str, HandlerWorker] = field(default_factory=dict)
    settings_read: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, name: str, event: Any) -> Invocation:
        """Invoke function ``name`` (a spec name) from its bundle; its AWS calls are logged."""
        with self.lock:
            if name not in self.workers:
                self.workers[name] = HandlerWorker(
                    SPECS_BY_NAME[name], self.environments[name], setup_code=WORKER_SETUP
                )
            worker = self.workers[name]
            self.invoked.append(name)
            self.events.append((name, event))
        invocation = worker.invoke(event)
        self.log.add(name, invocation.calls)
        with self.lock:
            self.settings_read.setdefault(name, set()).update(invocation.settings_read)
        if invocation.error_type == "ImportError" or invocation.error_type == "ModuleNotFoundError":
            raise AssertionError(f"{name}: {invocation.error_message}\n{worker.stderr()}")
        return invocation

    def machine_arn(self) -> str:
        (arn,) = [value for value in self.refs.values() if ":stateMachine:" in value]
        return arn

    def api(self, name: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        answer = self.call(name, api_event(method, path, **kwargs))
        assert answer.error_type is None, f"{name} {method} {path}: {answer.error_type}: {answer.error_message}"
        return answer.result["statusCode"], json.loads(answer.result["body"] or "null")


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


def _route_lambda_to_workers(deployed: Deployed, names: dict[str, str]) -> Iterator[None]:
    """moto's docker-less Lambda only echoes: hand each invocation to the function's worker, and
    report an exception the way Lambda does (FunctionError Unhandled, errorType = class name)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> Any:
        full = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        if full not in names:
            return original(self, function_name, qualifier, body, headers, response_headers)
        answer = deployed.call(names[full], json.loads(body or "{}"))
        if answer.error_type is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": answer.error_type, "errorMessage": answer.error_message}).encode()
        return json.dumps(answer.result).encode()

    LambdaSimpleBackend.invoke = invoke
    try:
        yield
    finally:
        LambdaSimpleBackend.invoke = original


@pytest.fixture(scope="module")
def deployed(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    patch = pytest.MonkeyPatch()
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }
    for key, value in {**aws, "MOTO_PORT": str(port)}.items():  # the interpreter calls Lambda on MOTO_PORT
        patch.setenv(key, value)
    # moto's interpreter waits for real; the polling loop's Wait states would take minutes
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    wait_interval = WaitFunction._wait_interval
    patch.setattr(WaitFunction, "_wait_interval", lambda self, env, wait_seconds: wait_interval(self, env, 0))
    requests.post(
        f"{endpoint}/moto-api/config",
        timeout=10,
        json={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
    )
    search = OpenSearchTestDouble().__enter__()
    template = synth.template["Resources"]
    functions = {
        lid: r["Properties"]
        for lid, r in template.items()
        if r["Type"] == "AWS::Lambda::Function" and isinstance(r["Properties"].get("FunctionName"), str)
    }
    session = boto3.session.Session(region_name=REGION)
    clients = {
        name: session.client(name, endpoint_url=endpoint)
        for name in (
            "dynamodb",
            "s3",
            "events",
            "sqs",
            "stepfunctions",
            "lambda",
            "iam",
            "secretsmanager",
            "cloudfront",
        )
    }
    refs: dict[str, str] = {}
    for lid, table in template.items():
        if table["Type"] == "AWS::DynamoDB::GlobalTable":
            name = (
                "milkmobs-videos"
                if table["Properties"]["KeySchema"][0]["AttributeName"] == "videoId"
                else "milkmobs-mobs"
            )
            _create_table(clients["dynamodb"], name, table)
            refs[lid], refs[f"{lid}.Arn"] = name, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    bucket = "milkmobs-media"
    clients["s3"].create_bucket(Bucket=bucket)
    clients["s3"].put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    (bucket_lid,) = [
        lid
        for lid, r in template.items()
        if r["Type"] == "AWS::S3::Bucket" and "VersioningConfiguration" in r["Properties"]
    ]
    refs[bucket_lid], refs[f"{bucket_lid}.Arn"] = bucket, f"arn:aws:s3:::{bucket}"
    (bus_lid,) = [lid for lid, r in template.items() if r["Type"] == "AWS::Events::EventBus"]
    bus_name = template[bus_lid]["Properties"]["Name"]
    refs[f"{bus_lid}.Arn"] = clients["events"].create_event_bus(Name=bus_name)["EventBusArn"]
    queue_url = clients["sqs"].create_queue(QueueName="analysed")["QueueUrl"]
    queue_arn = clients["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    clients["events"].put_rule(
        Name="analysed", EventBusName=bus_name, EventPattern=json.dumps({"source": [EVENT_SOURCE]})
    )
    clients["events"].put_targets(
        Rule="analysed", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}]
    )
    role = clients["iam"].create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = Path(tmp_path_factory.mktemp("code")) / "placeholder.zip"
    import zipfile

    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("placeholder.py", "")
    names: dict[str, str] = {}
    for lid, props in functions.items():
        refs[lid] = props["FunctionName"]
        refs[f"{lid}.Arn"] = clients["lambda"].create_function(
            FunctionName=props["FunctionName"],
            Runtime="python3.12",
            Role=role,
            Handler=props["Handler"],
            Code={"ZipFile": code.read_bytes()},
        )["FunctionArn"]
        names[props["FunctionName"]] = props["FunctionName"].removeprefix("milkmobs-")
    (machine_lid,) = [lid for lid, r in template.items() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    machine = template[machine_lid]["Properties"]
    definition = resolve(machine["DefinitionString"], refs)
    refs[machine_lid] = clients["stepfunctions"].create_state_machine(
        name=machine["StateMachineName"],
        definition=definition,
        roleArn=role,
    )["stateMachineArn"]
    (secret_lid,) = [lid for lid, r in template.items() if r["Type"] == "AWS::SecretsManager::Secret"]
    refs[secret_lid] = clients["secretsmanager"].create_secret(
        Name="cursor", SecretString="a-cursor-key-of-the-deployment"
    )["ARN"]
    (distribution,) = [lid for lid, r in template.items() if r["Type"] == "AWS::CloudFront::Distribution"]
    refs[f"{distribution}.DomainName"] = CLOUDFRONT_DOMAIN
    refs[distribution] = moto_distribution(clients["cloudfront"], bucket)
    (domain_lid,) = [lid for lid, r in template.items() if r["Type"] == "AWS::OpenSearchService::Domain"]
    refs[f"{domain_lid}.DomainEndpoint"] = f"{host}:{search.port}"
    # Each function's environment is the template's own, references resolved to the moto resources;
    # only the endpoints are the test's (and the fake analyzer's small dimension).
    environments: dict[str, dict[str, str]] = {}
    for props in functions.values():
        env = {k: str(resolve(v, refs)) for k, v in props["Environment"]["Variables"].items()}
        if "MILKMOBS_OPENSEARCH__ENDPOINT" in env:
            env.update(MILKMOBS_OPENSEARCH__ENDPOINT=search.url, MILKMOBS_OPENSEARCH__AUTH="none")
        environments[names[props["FunctionName"]]] = lambda_environment(
            env,
            **aws,
            MILKMOBS_MODELS__EMBEDDING_DIMENSION=str(DIMENSION),
            AWS_LAMBDA_FUNCTION_NAME=props["FunctionName"],
        )
    env = Deployed(clients, bucket, queue_url, refs, environments, definition)
    routing = _route_lambda_to_workers(env, names)
    next(routing)
    try:
        # the index exists before anything is analysed, as after a deploy
        created = env.call("create-opensearch-index", custom_resource_event("Create"))
        assert created.error_type is None, created.error_message
        yield env
    finally:
        next(routing, None)
        for worker in env.workers.values():
            worker.close()
        search.__exit__()
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        requests.post(
            f"{endpoint}/moto-api/config",
            timeout=10,
            json={"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": True}},
        )
        server.stop()
        patch.undo()


# --- one upload, end to end -----------------------------------------------------------------------
def _upload_and_analyse(
    env: Deployed, tmp: Path, *, title: str, hashtags: list[str], words: str
) -> tuple[str, dict[str, Any]]:
    """POST /videos/submit, store a real mp4 (plus words the fake analyzer reads), deliver the S3
    notification to start-analysis, wait for the execution to end."""
    body = make_mp4(tmp / f"{title.replace(' ', '_')}.mp4", seconds=2.0).read_bytes() + words.encode()
    status, submission = env.api(
        "create-upload",
        "POST",
        "/videos/submit",
        resource="/videos/submit",
        body={"userId": "u1", "title": title, "hashtags": hashtags, "sizeBytes": len(body)},
    )
    assert status in (200, 201), submission
    key, video_id = submission["upload"]["fields"]["key"], submission["videoId"]
    put = env.clients["s3"].put_object(Bucket=env.bucket, Key=key, Body=body, ContentType="video/mp4")
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventName": "ObjectCreated:Post",
        "eventTime": "2026-12-03T00:00:00.000Z",
        "responseElements": {"x-amz-request-id": f"S3REQ-{video_id}"},
        "s3": {
            "bucket": {"name": env.bucket, "arn": f"arn:aws:s3:::{env.bucket}"},
            "object": {"key": key, "size": len(body), "versionId": put.get("VersionId")},
        },
    }
    answer = env.call("start-analysis", {"Records": [record]})
    assert answer.error_type is None and answer.result["started"] == [video_id], answer
    arn = env.machine_arn().replace(":stateMachine:", ":execution:") + f":{video_id}"
    deadline = time.monotonic() + 120
    while (execution := env.clients["stepfunctions"].describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{video_id} still running"
        time.sleep(0.05)
    return video_id, execution


def _events(env: Deployed) -> dict[str, dict[str, Any]]:
    received: dict[str, dict[str, Any]] = {}
    sqs = env.clients["sqs"]
    while messages := sqs.receive_message(QueueUrl=env.queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            detail = json.loads(message["Body"])["detail"]
            received[str(detail["videoId"])] = detail
            sqs.delete_message(QueueUrl=env.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return received


@dataclass
class Tour:
    videos: dict[str, tuple[str, dict[str, Any]]]
    events: dict[str, dict[str, Any]]
    answers: dict[str, Any]


@pytest.fixture(scope="module")
def tour(deployed: Deployed, tmp_path_factory: pytest.TempPathFactory) -> Tour:
    """Every function, driven the way its trigger drives it."""
    tmp = tmp_path_factory.mktemp("videos")
    env = deployed
    videos = {
        "validated": _upload_and_analyse(
            env, tmp, title="milk moustache", hashtags=["gotmilk", "milkmob"], words="GOT MILK drinking milk"
        ),
        "rejected": _upload_and_analyse(
            env, tmp, title="skate park", hashtags=["skate"], words="skateboarding in the park"
        ),
        "broken": _upload_and_analyse(env, tmp, title="broken", hashtags=["gotmilk"], words="GOT MILK"),
        "flaky": _upload_and_analyse(
            env, tmp, title="flaky", hashtags=["gotmilk", "milkmob"], words="GOT MILK drinking milk flaky"
        ),
    }
    events = _events(env)
    validated = videos["validated"][0]
    # start-analysis asked generate-thumbnail asynchronously: wait until the thumbnail is recorded.
    # Each look is a whole get-video-detail invocation: look every half second, so the looking does
    # not starve the thumbnail's ffmpeg on a loaded machine, and allow for one.
    deadline = time.monotonic() + 180
    while not _video(env, validated).get("thumbnailUrl"):
        assert time.monotonic() < deadline, f"no thumbnail for {validated}; generate-thumbnail said:\n" + env.workers[
            "generate-thumbnail"
        ].stderr(40)
        time.sleep(0.5)
    answers: dict[str, Any] = {}
    answers["detail"] = env.api(
        "get-video-detail",
        "GET",
        f"/videos/{validated}",
        resource="/videos/{videoId}",
        path_parameters={"videoId": validated},
    )
    answers["feed"] = env.api("get-feed", "GET", "/feed")
    # a page of one: its next page's cursor is signed with the cursor key (read at the first cursor)
    answers["feed-page"] = env.api("get-feed", "GET", "/feed", query={"limit": "1"})
    answers["user-page"] = env.api("list-user-videos", "GET", "/videos/user", query={"userId": "u1", "limit": "1"})
    answers["user"] = env.api("list-user-videos", "GET", "/videos/user", query={"userId": "u1"})
    answers["mobs"] = env.api("list-mobs", "GET", "/mobs")
    mob_id = answers["detail"][1]["mobId"]
    answers["mob"] = env.api(
        "get-mob", "GET", f"/mobs/{mob_id}", resource="/mobs/{mobId}", path_parameters={"mobId": mob_id}
    )
    answers["similar"] = env.api("search-similar", "GET", "/search/similar", query={"videoId": validated})
    answers["text"] = env.api("search-similar", "GET", "/search/text", query={"q": "gotmilk"})
    answers["history"] = env.api("get-execution-history", "GET", "/execution-history", query={"videoId": validated})
    answers["validation"] = env.api(
        "validate-video",
        "GET",
        f"/validate/{validated}",
        resource="/validate/{videoId}",
        path_parameters={"videoId": validated},
    )
    answers["revalidate"] = env.api("validate-video", "POST", "/validate", body={"videoId": validated})
    answers["admin-videos"] = env.api("admin-list-videos", "GET", "/admin/videos", claims=ADMIN_CLAIMS)
    answers["admin-page"] = env.api(
        "admin-list-videos", "GET", "/admin/videos", query={"limit": "1"}, claims=ADMIN_CLAIMS
    )
    answers["stats"] = env.api("admin-get-stats", "GET", "/admin/stats", claims=ADMIN_CLAIMS)
    answers["usage"] = env.api("admin-get-usage-stats", "GET", "/admin/usage-stats", claims=ADMIN_CLAIMS)
    answers["map"] = env.api("admin-get-mob-map", "GET", "/admin/mobs/map", claims=ADMIN_CLAIMS)
    recluster = env.call("cluster-embeddings", scheduled_event())
    answers["recluster"] = (recluster.error_type, recluster.result)
    answers["admin-recluster"] = env.api("admin-recluster", "POST", "/admin/recluster", claims=ADMIN_CLAIMS)
    sweep = env.call("sweep-stuck-videos", scheduled_event())
    answers["sweep"] = (sweep.error_type, sweep.result)
    rejected = videos["rejected"][0]
    answers["delete"] = env.api(
        "admin-delete-video",
        "DELETE",
        f"/admin/videos/{rejected}",
        resource="/admin/videos/{videoId}",
        path_parameters={"videoId": rejected},
        claims=ADMIN_CLAIMS,
    )
    return Tour(videos, events, answers)


def _video(env: Deployed, video_id: str) -> dict[str, Any]:
    status, body = env.api(
        "get-video-detail",
        "GET",
        f"/videos/{video_id}",
        resource="/videos/{videoId}",
        path_parameters={"videoId": video_id},
    )
    assert status == 200, body
    return dict(body)


def test_a_campaign_video_is_validated_clustered_thumbnailed_and_announced(deployed: Deployed, tour: Tour) -> None:
    video_id, execution = tour.videos["validated"]
    assert execution["status"] == "SUCCEEDED", execution
    status, video = tour.answers["detail"]
    assert status == 200 and video["status"] == "validated" and video["mobId"]
    assert video["videoUrl"].startswith(f"https://{CLOUDFRONT_DOMAIN}/vid_")
    assert video["thumbnailUrl"], "generate-thumbnail ran from its bundle (ffmpeg in the media layer)"
    assert video["media"]["durationSeconds"] == pytest.approx(2.0, abs=0.1), "probed by mark-processing's ffmpeg"
    assert tour.events[video_id]["status"] == "validated" and tour.events[video_id]["mobId"] == video["mobId"]
    for step in (
        "analysis-mark-processing",
        "analysis-pegasus",
        "analysis-marengo",
        "analysis-write-result",
        "validate-video",
        "cluster-video",
        "generate-thumbnail",
    ):
        assert step in deployed.invoked


def test_the_embedding_job_is_polled_until_done(deployed: Deployed, tour: Tour) -> None:
    video_id = tour.videos["validated"][0]
    marengo = [e["action"] for name, e in deployed.events if name == "analysis-marengo" and e["videoId"] == video_id]
    assert marengo == ["start"] + ["check"] * EMBEDDING_CHECKS


def test_the_states_a_video_enters_are_the_ones_the_cost_model_counts(deployed: Deployed, tour: Tour) -> None:
    """Every state entered is a billed transition: benchmarks/capacity.py counts them by walking the
    synthesized definition (``transitions.entered_states``); the real run here must agree with it."""
    from milkmobs_infra.transitions import Video, entered_states

    definition = json.loads(deployed.definition)
    for outcome, video in (
        ("validated", Video(checks=EMBEDDING_CHECKS, validated=True)),
        ("rejected", Video(checks=EMBEDDING_CHECKS, validated=False)),
    ):
        _, execution = tour.videos[outcome]
        history = deployed.clients["stepfunctions"].get_execution_history(
            executionArn=execution["executionArn"], maxResults=1000
        )["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
        assert sorted(entered) == sorted(entered_states(definition, video)), outcome


def test_an_off_campaign_video_is_rejected_and_announced(tour: Tour) -> None:
    video_id, execution = tour.videos["rejected"]
    assert execution["status"] == "SUCCEEDED", execution
    assert tour.events[video_id]["status"] == "rejected"


def test_a_video_whose_analysis_keeps_failing_ends_failed_with_its_error(deployed: Deployed, tour: Tour) -> None:
    video_id, execution = tour.videos["broken"]
    assert execution["status"] == "FAILED"
    assert execution.get("error") == "AnalysisError"  # the Fail state passes the original error on
    video = _video(deployed, video_id)
    assert video["status"] == "failed"
    assert "Pegasus could not read the video" in json.dumps(video)
    assert video_id not in tour.events  # nothing false is announced
    assert "analysis-mark-failed" in deployed.invoked


def test_a_model_fault_is_retried_by_the_state_machine(deployed: Deployed, tour: Tour) -> None:
    video_id, execution = tour.videos["flaky"]
    assert execution["status"] == "SUCCEEDED", execution
    assert _video(deployed, video_id)["status"] == "validated"
    pegasus = [e for name, e in deployed.events if name == "analysis-pegasus" and e.get("videoId") == video_id]
    assert len(pegasus) == 2  # the faulted call, then the state machine's retry


def test_every_api_function_answers_from_its_bundle(tour: Tour) -> None:
    failed = {
        name: answer for name, answer in tour.answers.items() if name not in ("recluster", "sweep") and answer[0] != 200
    }
    assert failed == {}
    validated = tour.videos["validated"][0]
    assert validated in json.dumps(tour.answers["feed"][1]) and validated in json.dumps(tour.answers["similar"][1])
    assert tour.answers["recluster"][0] is None, tour.answers["recluster"]
    assert tour.answers["sweep"][0] is None, tour.answers["sweep"]
    assert tour.answers["delete"][1]["videoId"] == tour.videos["rejected"][0]


@pytest.mark.parametrize(("groups", "status"), [("admins", 200), ("editors", 403), (None, 401)])
def test_admin_entry_points_trust_the_cognito_group(deployed: Deployed, groups: str | None, status: int) -> None:
    """What the Cognito authorizer hands the admin functions: claims with the user's groups."""
    from milkmobs_infra.api import ADMIN_GROUP as DEPLOYED_GROUP

    from milkmobs.api.auth import ADMIN_GROUP

    assert DEPLOYED_GROUP == ADMIN_GROUP
    claims = {"sub": "u-1", "cognito:username": "admin"} | ({"cognito:groups": groups} if groups else {})
    answer, _ = deployed.api("admin-get-stats", "GET", "/admin/stats", claims=claims if groups else None)
    assert answer == status


def test_handlers_log_structured_json_with_a_correlation_id(deployed: Deployed, tour: Tour) -> None:
    """Powertools Logger: one JSON object per line, the function as service, the S3 request id
    (start-analysis) and the API request id as correlation ids."""
    video_id = tour.videos["validated"][0]
    lines = [
        json.loads(line)
        for line in deployed.workers["start-analysis"].stderr(200).splitlines()
        if line.startswith("{") and '"level"' in line
    ]
    started = [line for line in lines if line.get("correlation_id") == f"S3REQ-{video_id}"]
    assert started and started[0]["service"] == "start-analysis" and "function_request_id" in started[0]


def test_the_tour_invokes_every_declared_function(deployed: Deployed, tour: Tour) -> None:
    assert {s.name for s in FUNCTION_SPECS} <= set(deployed.invoked)


# --- every call granted ------------------------------------------------------------------------
def test_each_handler_reads_only_the_settings_its_function_is_given(deployed: Deployed, tour: Tour) -> None:
    """What a handler reads, from its cold start on (the container's settings and application, its
    own code, the adapters it builds on first use), is declared by its spec, so its environment
    holds it. (test_deploy_settings_read holds every function to this in process, one cold start
    per invocation.)"""
    assert set(deployed.settings_read) == {spec.name for spec in FUNCTION_SPECS}
    assert deployed.settings_read["search-similar"] & {"opensearch.endpoint", "models.marengo_model_id"}
    for name, read in deployed.settings_read.items():
        declared = settings_read_by(SPECS_BY_NAME[name])
        assert read <= declared, f"{name} reads {sorted(read - declared)} but its environment has no such setting"


def test_every_aws_call_of_every_function_is_granted_by_its_own_policy(
    synth: Synth, deployed: Deployed, tour: Tour
) -> None:
    policies, domain = function_policies(synth.template, deployed.refs), domain_policies(synth.template, deployed.refs)
    seen, missing = ungranted(deployed.log.calls, policies, domain, domain_arn=DOMAIN_ARN)
    assert seen > 100
    assert missing == [], "\n".join(missing)


def test_a_call_outside_the_policy_is_reported(synth: Synth, deployed: Deployed, tour: Tour) -> None:
    """The check can fail: the usage reader's and the search's calls, held against list-mobs' policy."""
    policies, domain = function_policies(synth.template, deployed.refs), domain_policies(synth.template, deployed.refs)
    borrowed = {"list-mobs": deployed.log.calls["admin-get-usage-stats"] + deployed.log.calls["search-similar"]}
    _, missing = ungranted(borrowed, policies, domain, domain_arn=DOMAIN_ARN)
    assert any("cloudwatch:ListMetrics on *" in m for m in missing), missing
    assert any("cloudwatch:GetMetricData" in m for m in missing), missing
    assert any("OpenSearch domain policy refuses es:ESHttpPost" in m and "/_search" in m for m in missing), missing


def test_the_recording_sees_each_kind_of_call(deployed: Deployed, tour: Tour) -> None:
    """The hooks are live in every worker: DynamoDB, S3, Step Functions, Lambda, Secrets Manager,
    CloudWatch and OpenSearch calls all reach the log."""
    services = {(name, c["service"]) for name, calls in deployed.log.calls.items() for c in calls}
    assert {
        ("start-analysis", "states"),
        ("start-analysis", "lambda"),
        ("generate-thumbnail", "s3"),
        ("admin-get-usage-stats", "monitoring"),
        ("list-mobs", "dynamodb"),
        ("search-similar", "opensearch"),
        ("get-feed", "secretsmanager"),
        ("admin-delete-video", "cloudfront"),
    } <= services
    readers = [s.name for s in FUNCTION_SPECS if s.search is Search.READ]
    for name in readers:
        methods = {c["operation"] for c in deployed.log.calls.get(name, []) if c["service"] == "opensearch"}
        assert methods <= {"GET", "HEAD", "POST"}, (name, methods)


# --- every grant used ----------------------------------------------------------------------------
#: Policy statements no call of the tour uses, and why each is still needed. Keyed by the
#: statement's first action (any function) or by "function action".
_MOTO_HAS_NO_BEDROCK = "moto has no Bedrock: test_deploy_bedrock_grants runs these calls under Stubber"
_NOT_STUCK = "the tour leaves no video stuck: a re-driven or failed stuck video is tests/unit's sweep"
_ONE_PAGE = "the cursor key signs a next page's cursor: the tour's lists here fit one page"
_OVERSIZED = "only an oversized or re-posted upload is failed or removed here; the tour's uploads are accepted"
_MISSING_OBJECT = "lets S3 answer 404 (not 403) for a missing upload; every object of the tour exists"
EXERCISED_ONLY_IN_AWS: dict[str, str] = {
    # called by the Lambda service itself, never by a handler
    "logs:CreateLogStream": "the Lambda runtime writes the function's log stream",
    "xray:PutTraceSegments": "active tracing: the Lambda runtime sends the trace segments",
    "sqs:SendMessage": "the on-failure destination: Lambda sends a failed asynchronous invocation's record",
    # Bedrock
    "bedrock:InvokeModel": _MOTO_HAS_NO_BEDROCK,
    "bedrock:GetAsyncInvoke": _MOTO_HAS_NO_BEDROCK,
    "bedrock:ListAsyncInvokes": _MOTO_HAS_NO_BEDROCK,
    "analysis-marengo s3:PutObject": "Bedrock writes Marengo's job output with the caller's permissions; "
    + _MOTO_HAS_NO_BEDROCK,
    "analysis-pegasus s3:ListBucket": "Bedrock reads the video with the caller's permissions; " + _MOTO_HAS_NO_BEDROCK,
    "analysis-marengo s3:ListBucket": "Bedrock reads the video with the caller's permissions; " + _MOTO_HAS_NO_BEDROCK,
    "create-upload s3:PutObject": "the browser's presigned POST is authorized by this role; the test uploads itself",
    # paths the tour does not take
    "analysis-mark-processing s3:ListBucket": _MISSING_OBJECT,
    "generate-thumbnail s3:ListBucket": _MISSING_OBJECT,
    "start-analysis s3:ListBucket": _MISSING_OBJECT,
    "start-analysis s3:DeleteObjectVersion": _OVERSIZED,
    "start-analysis cloudfront:CreateInvalidation": _OVERSIZED,
    "start-analysis es:ESHttpHead": _OVERSIZED,
    "start-analysis es:ESHttpDelete": _OVERSIZED,
    "sweep-stuck-videos states:StartExecution": _NOT_STUCK,
    **{
        f"{name} secretsmanager:GetSecretValue": _ONE_PAGE
        for name in ("get-mob", "admin-get-mob-map", "admin-recluster", "cluster-embeddings", "sweep-stuck-videos")
    },
    "sweep-stuck-videos states:DescribeExecution": _NOT_STUCK,
    "sweep-stuck-videos es:ESHttpHead": _NOT_STUCK,
    "sweep-stuck-videos es:ESHttpDelete": _NOT_STUCK,
    "analysis-mark-failed dynamodb:BatchGetItem": "the mobs table: a failing video of the tour never joined a mob",
    "admin-delete-video dynamodb:BatchGetItem": "the mobs table: the tour deletes a rejected video, in no mob",
    "admin-get-mob-map dynamodb:BatchGetItem": "the mobs table: names of the mobs on the map",
    "admin-delete-video s3:DeleteObject": "thumbnails/*: the deleted video's thumbnail, made asynchronously, may "
    "not exist yet when the tour deletes it",
}


def _unused_statements(policies: dict[str, list[dict[str, Any]]], calls: dict[str, list[dict[str, Any]]]) -> list[str]:
    """ "function action" for each statement (named by its first action) no recorded call used."""
    unused = []
    for name, statements in sorted(policies.items()):
        needed = [need for call in calls.get(name, []) for need in iam_requirements(call, domain_arn=DOMAIN_ARN)]
        for statement in statements:
            if any(allowed([statement], action, resource, conditions) for action, resource, conditions in needed):
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            unused.append(f"{name} {actions[0]} | {actions} {resources}")
    return unused


def test_every_statement_of_every_policy_is_used_or_explained(synth: Synth, deployed: Deployed, tour: Tour) -> None:
    """The other direction of the check above: a statement none of the function's calls needed is
    a grant too many, unless the call is one only AWS makes (named here, with the reason)."""
    unused = _unused_statements(function_policies(synth.template, deployed.refs), deployed.log.calls)
    unexplained = [
        u
        for u in unused
        if u.split()[1] not in EXERCISED_ONLY_IN_AWS and " ".join(u.split()[:2]) not in EXERCISED_ONLY_IN_AWS
    ]
    assert not unexplained, "\n".join(unexplained)
