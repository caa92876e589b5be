"""Each function reads only the settings its declaration gives it, from its cold start on.

Every declared function's handler module runs here, on moto, with only the environment the
synthesized stack gives it (the template's variables, references resolved to the moto
resources; the OpenSearch endpoint is the HTTP test double, moto has none) and from a cold start:
the container's settings and application are built by the invocation itself, as in Lambda.
Every setting read on ``Settings`` and its groups (``milkmobs.settings.recorded_reads``) must be
one the function's declaration lists (``functions.settings_read_by``): a function never reads
the default of a setting the stack configures for another. Every boto3 client made is counted: a
function makes at most one per service, and only for services its own policy grants. And the
other way round: a function is given no setting it never reads (bar those only a path this drive
does not take reads, each named with its path).

Bedrock: moto has none. The analyzer is built for real (its settings read, its clients
described), then answers as the memory FakeAnalyzer reading the uploaded bytes.
"""

from __future__ import annotations

import importlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bundle_support import function_policies
from deploy_support import Synth, moto_distribution, resolve
from milkmobs_infra.function_specs import FUNCTION_SPECS, SPECS_BY_NAME
from milkmobs_infra.functions import settings_read_by

moto = pytest.importorskip("moto")

from tests.handlers.conftest import LambdaContext, api_event, custom_resource_event, scheduled_event  # noqa: E402
from tests.media_support import make_mp4  # noqa: E402
from tests.opensearch_double import OpenSearchTestDouble  # noqa: E402

from milkmobs.settings import ENV_PREFIX, recorded_reads  # noqa: E402

REGION = "us-east-1"
ADMIN_CLAIMS = {"sub": "u-admin", "cognito:username": "admin", "cognito:groups": "admins"}
#: boto3 service name → the IAM prefix of its actions (where they differ).
IAM_PREFIX = {"stepfunctions": "states", "bedrock-runtime": "bedrock"}
#: Clients a function may make without a grant: GetCallerIdentity needs no permission.
NEEDS_NO_GRANT = {"sts"}


@dataclass
class Run:
    """What each function did over its invocations, each from a cold start."""

    environments: dict[str, dict[str, str]]
    given: dict[str, set[str]]  # the settings the template gives each function (dotted names)
    policies: dict[str, list[dict[str, Any]]]
    bucket: str
    s3: Any
    reads: dict[str, set[str]] = field(default_factory=dict)
    clients: dict[str, list[Counter[str]]] = field(default_factory=dict)

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """A cold start of ``name`` with its environment alone, then the handler on ``event``."""
        from milkmobs.adapters.aws import factory
        from milkmobs.lambdas import _runtime

        saved = dict(os.environ)
        for key in [k for k in os.environ if k.startswith(ENV_PREFIX) or k.startswith("POWERTOOLS_")]:
            del os.environ[key]
        os.environ.update(self.environments[name])
        made: Counter[str] = Counter()
        _runtime.install(None)  # a new container: settings and application are built by this invocation
        factory._secret_cache.clear()  # and the cursor key is read again
        try:
            with recorded_reads() as read, _counting_clients(made):
                handler = importlib.import_module(SPECS_BY_NAME[name].module).handler
                answer = handler(event, LambdaContext(function_name=f"milkmobs-{name}"))
        finally:
            _runtime.install(None)
            os.environ.clear()
            os.environ.update(saved)
        self.reads.setdefault(name, set()).update(read)
        self.clients.setdefault(name, []).append(made)
        return answer

    def api(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.invoke(name, api_event(method, path, **kwargs))
        assert answer["statusCode"] < 300, (name, method, path, answer)
        return json.loads(answer["body"] or "null")


@contextmanager
def _counting_clients(made: Counter[str]) -> Iterator[None]:
    """Counts the boto3 clients created while inside, by service."""
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made[service_name] += 1
        return original(session, service_name, *args, **kwargs)

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


def _fake_bedrock(monkeypatch: pytest.MonkeyPatch, s3: Any, bucket: str) -> None:
    """The real analyzer is built (its settings read), then the fake answers for it."""
    from milkmobs.adapters.aws import factory_models
    from milkmobs.adapters.aws.s3_media import S3MediaStore
    from milkmobs.adapters.memory.analyzer import FakeAnalyzer

    media = S3MediaStore(s3, bucket)
    real = factory_models.build_analyzer

    def build_analyzer(settings: Any, **kwargs: Any) -> Any:
        return FakeAnalyzer(media, dimension=real(settings, **kwargs).embedding_dimension)

    monkeypatch.setattr(factory_models, "build_analyzer", build_analyzer)


@pytest.fixture(scope="module")
def run(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    import boto3
    from moto import mock_aws

    from milkmobs.adapters.aws.tables import create_tables
    from milkmobs.domain import EVENT_BUS_NAME

    patch = pytest.MonkeyPatch()
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    for key, value in aws.items():
        patch.setenv(key, value)
    patch.chdir(tmp_path_factory.mktemp("cwd"))  # no .env or milkmobs.toml but the environment's
    mock = mock_aws()
    mock.start()
    search = OpenSearchTestDouble().__enter__()
    try:
        template = synth.template["Resources"]
        session = boto3.session.Session(region_name=REGION)
        refs: dict[str, str] = {}
        tables = {lid: r for lid, r in template.items() if r["Type"] == "AWS::DynamoDB::GlobalTable"}
        for lid, table in tables.items():
            name = (
                "milkmobs-videos"
                if table["Properties"]["KeySchema"][0]["AttributeName"] == "videoId"
                else "milkmobs-mobs"
            )
            refs[lid], refs[f"{lid}.Arn"] = name, f"arn:aws:dynamodb:{REGION}:123456789012:table/{name}"
        create_tables(session.client("dynamodb"), videos_table="milkmobs-videos", mobs_table="milkmobs-mobs")
        s3 = session.client("s3")
        bucket = "milkmobs-media"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        (bucket_lid,) = [
            lid
            for lid, r in template.items()
            if r["Type"] == "AWS::S3::Bucket" and "VersioningConfiguration" in r["Properties"]
        ]
        refs[bucket_lid] = bucket
        session.client("events").create_event_bus(Name=EVENT_BUS_NAME)
        (secret_lid,) = [lid for lid, r in template.items() if r["Type"] == "AWS::SecretsManager::Secret"]
        refs[secret_lid] = session.client("secretsmanager").create_secret(
            Name="cursor", SecretString="a-cursor-key-of-the-deployment"
        )["ARN"]
        (machine_lid,) = [lid for lid, r in template.items() if r["Type"] == "AWS::StepFunctions::StateMachine"]
        role = session.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        refs[machine_lid] = session.client("stepfunctions").create_state_machine(  # executions are not run
            name=template[machine_lid]["Properties"]["StateMachineName"],
            roleArn=role,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
        (distribution,) = [lid for lid, r in template.items() if r["Type"] == "AWS::CloudFront::Distribution"]
        refs[f"{distribution}.DomainName"] = "d111111abcdef8.cloudfront.net"
        refs[distribution] = moto_distribution(session.client("cloudfront"), bucket)
        (domain_lid,) = [lid for lid, r in template.items() if r["Type"] == "AWS::OpenSearchService::Domain"]
        refs[f"{domain_lid}.DomainEndpoint"] = f"{search.host}:{search.port}"
        functions = {
            lid: r["Properties"]
            for lid, r in template.items()
            if r["Type"] == "AWS::Lambda::Function" and isinstance(r["Properties"].get("FunctionName"), str)
        }
        for lid, props in functions.items():
            refs[lid] = props["FunctionName"]
        environments: dict[str, dict[str, str]] = {}
        given: dict[str, set[str]] = {}
        for props in functions.values():
            env = {k: str(resolve(v, refs)) for k, v in props["Environment"]["Variables"].items()}
            given[props["FunctionName"].removeprefix("milkmobs-")] = {
                key.removeprefix(ENV_PREFIX).lower().replace("__", ".") for key in env if key.startswith(ENV_PREFIX)
            }
            if "MILKMOBS_OPENSEARCH__ENDPOINT" in env:
                # the test double, in plain HTTP, for the domain's https endpoint
                env.update(MILKMOBS_OPENSEARCH__ENDPOINT=search.url, MILKMOBS_OPENSEARCH__AUTH="none")
            env.update(AWS_LAMBDA_FUNCTION_NAME=props["FunctionName"], POWERTOOLS_TRACE_DISABLED="true")
            environments[props["FunctionName"].removeprefix("milkmobs-")] = env
        _fake_bedrock(patch, s3, bucket)
        yield Run(environments, given, function_policies(synth.template, refs), bucket, s3)
    finally:
        search.__exit__()
        mock.stop()
        patch.undo()


def _uploaded(run: Run, tmp: Path, *, title: str, words: str) -> str:
    """Submitted through create-upload, stored, announced to start-analysis: the video's id."""
    body = make_mp4(tmp / f"{title}.mp4", seconds=1.0).read_bytes() + words.encode()
    submission = run.api(
        "create-upload",
        "POST",
        "/videos/submit",
        resource="/videos/submit",
        body={"userId": "u1", "title": title, "hashtags": ["gotmilk", "milkmob"], "sizeBytes": len(body)},
    )
    key, video_id = submission["upload"]["fields"]["key"], submission["videoId"]
    put = run.s3.put_object(Bucket=run.bucket, Key=key, Body=body, ContentType="video/mp4")
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventName": "ObjectCreated:Post",
        "s3": {
            "bucket": {"name": run.bucket},
            "object": {"key": key, "size": len(body), "versionId": put.get("VersionId")},
        },
    }
    assert run.invoke("start-analysis", {"Records": [record]})["started"] == [video_id]
    return str(video_id)


@pytest.fixture(scope="module")
def driven(run: Run, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Every function, driven the way its trigger drives it, each invocation a cold start."""
    tmp = tmp_path_factory.mktemp("videos")
    assert run.invoke("create-opensearch-index", custom_resource_event("Create"))["PhysicalResourceId"]
    video_id = _uploaded(run, tmp, title="milk", words="GOT MILK drinking milk")
    assert run.invoke("generate-thumbnail", {"videoId": video_id})["thumbnailKey"]
    assert run.invoke("analysis-mark-processing", {"videoId": video_id})["status"] == "processing"
    insights = run.invoke("analysis-pegasus", {"videoId": video_id})["insights"]
    embedding = run.invoke("analysis-marengo", {"videoId": video_id, "action": "start"})
    while not embedding["done"]:
        embedding = run.invoke("analysis-marengo", {"videoId": video_id, "job": embedding["job"], "action": "check"})
    run.invoke(
        "analysis-write-result", {"videoId": video_id, "insights": insights, "embedding": embedding["embedding"]}
    )
    assert run.invoke("validate-video", {"videoId": video_id})["status"] == "validated"
    mob_id = run.invoke("cluster-video", {"videoId": video_id})["mobId"]
    failing = _uploaded(run, tmp, title="failing", words="GOT MILK")  # u1's second video: lists of two
    run.api(
        "get-video-detail",
        "GET",
        f"/videos/{video_id}",
        resource="/videos/{videoId}",
        path_parameters={"videoId": video_id},
    )
    run.api("get-feed", "GET", "/feed")
    for name, path, query, claims in (
        ("list-user-videos", "/videos/user", {"userId": "u1"}, None),
        ("admin-list-videos", "/admin/videos", {}, ADMIN_CLAIMS),
    ):
        first = run.api(name, "GET", path, query={**query, "limit": "1"}, claims=claims)  # signs a cursor
        run.api(name, "GET", path, query={**query, "limit": "1", "cursor": first["nextCursor"]}, claims=claims)
    run.api("list-mobs", "GET", "/mobs")
    run.api("get-mob", "GET", f"/mobs/{mob_id}", resource="/mobs/{mobId}", path_parameters={"mobId": mob_id})
    run.api("search-similar", "GET", "/search/similar", query={"videoId": video_id})
    run.api("search-similar", "GET", "/search/text", query={"q": "gotmilk"})
    run.api("get-execution-history", "GET", "/execution-history", query={"videoId": video_id})
    run.api(
        "validate-video",
        "GET",
        f"/validate/{video_id}",
        resource="/validate/{videoId}",
        path_parameters={"videoId": video_id},
    )
    run.api("validate-video", "POST", "/validate", body={"videoId": video_id})
    run.api("admin-get-stats", "GET", "/admin/stats", claims=ADMIN_CLAIMS)
    run.api("admin-get-usage-stats", "GET", "/admin/usage-stats", claims=ADMIN_CLAIMS)
    run.api("admin-get-mob-map", "GET", "/admin/mobs/map", claims=ADMIN_CLAIMS)
    run.api("admin-recluster", "POST", "/admin/recluster", claims=ADMIN_CLAIMS)
    run.invoke("cluster-embeddings", scheduled_event())
    run.invoke("sweep-stuck-videos", scheduled_event())
    failed = run.invoke(
        "analysis-mark-failed",
        {"videoId": failing, "failedStep": "PegasusAnalysis", "error": {"Error": "AnalysisError", "Cause": "refused"}},
    )
    assert failed["status"] == "failed"
    for gone in (failing, video_id):  # one in no mob, one in a mob
        run.api(
            "admin-delete-video",
            "DELETE",
            f"/admin/videos/{gone}",
            resource="/admin/videos/{videoId}",
            path_parameters={"videoId": gone},
            claims=ADMIN_CLAIMS,
        )
    return run


def test_every_declared_function_is_driven(driven: Run) -> None:
    assert set(driven.reads) == {spec.name for spec in FUNCTION_SPECS}


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda s: s.name)
def test_a_function_reads_only_the_settings_its_declaration_gives_it(driven: Run, spec: Any) -> None:
    read, declared = driven.reads[spec.name], settings_read_by(spec)
    assert read, "the recording sees the reads"
    undeclared = sorted(read - declared)
    assert not undeclared, (
        f"{spec.name} reads {undeclared}, which its declaration does not list: it reads their defaults "
        "even where the stack configures them (build what uses them on first use, or declare them)"
    )


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda s: s.name)
def test_a_cold_start_makes_one_client_per_service_and_only_granted_ones(driven: Run, spec: Any) -> None:
    granted = {
        action.split(":")[0]
        for statement in driven.policies.get(spec.name, [])
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    for made in driven.clients[spec.name]:
        assert all(count == 1 for count in made.values()), f"{spec.name} made {dict(made)}"
        ungranted = {s for s in made if IAM_PREFIX.get(s, s) not in granted} - NEEDS_NO_GRANT
        assert not ungranted, f"{spec.name} made clients of {sorted(ungranted)}, which its policy does not grant"


_OVERSIZED = "an oversized upload is failed here: its media deleted, the video taken out of the index"
_NOT_STUCK = "no video is stuck: a re-driven one starts an execution, a failed one leaves the index"
_NO_MOB = "a failing video in a mob leaves it: the failing video was in none"
_ONE_PAGE = "the cursor key signs the cursor of a next page: this drive's lists fit one page"
#: Settings a function is given that the paths driven above do not read, and the path that does.
READ_ON_PATHS_NOT_DRIVEN: dict[str, dict[str, str]] = {
    "start-analysis": dict.fromkeys(
        ("aws.cloudfront_distribution_id", "opensearch.endpoint", "models.marengo_model_id"), _OVERSIZED
    ),
    "sweep-stuck-videos": {
        **dict.fromkeys(("aws.state_machine_arn", "opensearch.endpoint", "models.marengo_model_id"), _NOT_STUCK),
        "aws.cursor_secret_id": _ONE_PAGE,
    },
    "analysis-mark-failed": {"aws.mobs_table": _NO_MOB},
    **{
        name: {"aws.cursor_secret_id": _ONE_PAGE}
        for name in ("get-feed", "get-mob", "admin-recluster", "cluster-embeddings")
    },
    "admin-get-mob-map": {
        "aws.mobs_table": "the names of the mobs on the map: one video is too few to project",
        "aws.cursor_secret_id": _ONE_PAGE,
    },
    "analysis-pegasus": {"aws.cloudfront_domain": "the media settings come together; Bedrock reads the bucket alone"},
    "analysis-marengo": {"aws.cloudfront_domain": "the media settings come together; Bedrock reads the bucket alone"},
    "create-opensearch-index": {"aws.region": "signs requests to an AWS domain (SigV4); the test double is plain HTTP"},
}


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda s: s.name)
def test_a_function_is_given_only_settings_it_reads(driven: Run, spec: Any) -> None:
    """The other direction: its environment holds nothing it never reads, unless a path the drive
    does not take reads it (named above, with that path; an entry read after all must go)."""
    unread = driven.given[spec.name] - driven.reads[spec.name]
    explained = READ_ON_PATHS_NOT_DRIVEN.get(spec.name, {})
    assert unread - set(explained) == set(), f"{spec.name} is given {sorted(unread - set(explained))} it never reads"
    assert set(explained) <= unread, f"read after all, remove from READ_ON_PATHS_NOT_DRIVEN: {set(explained) - unread}"


def test_the_recording_sees_a_read_outside_the_declaration(driven: Run) -> None:
    """The check can fail: list-mobs' reads, held against the declaration of a function with no table."""
    usage = SPECS_BY_NAME["admin-get-usage-stats"]
    assert "aws.mobs_table" in driven.reads["list-mobs"] - settings_read_by(usage)
