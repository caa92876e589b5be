"""Least privilege: every policy in the template, walked statement by statement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from deploy_support import Synth, resolve

# What AWS itself requires to be "*" (or a whole service), and nothing else. Each entry:
# (action, where it may appear, why). "identity" = an IAM role's policy.
WILDCARD_RESOURCE_ALLOWED: dict[str, str] = {
    # CloudWatch metric APIs have no resource-level permissions.
    "cloudwatch:GetMetricData": "no resource ARNs; read-only (admin-get-usage-stats)",
    "cloudwatch:ListMetrics": "no resource ARNs; read-only (admin-get-usage-stats finds the models' metrics)",
    # Bedrock's List action for async jobs has no resource type (Service Authorization Reference).
    "bedrock:ListAsyncInvokes": "no resource type; lists this account's jobs (analysis-marengo's conflict recovery)",
    # X-Ray tracing of the state machine: these APIs take no resource.
    "xray:PutTraceSegments": "X-Ray takes no resource",
    "xray:PutTelemetryRecords": "X-Ray takes no resource",
    "xray:GetSamplingRules": "X-Ray takes no resource",
    "xray:GetSamplingTargets": "X-Ray takes no resource",
    # Step Functions execution logging: the log-delivery APIs take no resource (AWS docs,
    # "IAM policies for logging to CloudWatch Logs").
    "logs:CreateLogDelivery": "vended log delivery",
    "logs:GetLogDelivery": "vended log delivery",
    "logs:UpdateLogDelivery": "vended log delivery",
    "logs:DeleteLogDelivery": "vended log delivery",
    "logs:ListLogDeliveries": "vended log delivery",
    "logs:PutResourcePolicy": "vended log delivery",
    "logs:DescribeResourcePolicies": "vended log delivery",
    "logs:DescribeLogGroups": "vended log delivery",
}

AUTO_DELETE_ACTIONS = {"s3:PutBucketPolicy", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*"}


def _statements(synth: Synth) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource type, logical id, statement) for every policy document in the template."""
    for logical_id, resource in synth.template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        documents: list[Any] = []
        if kind == "AWS::IAM::Policy":
            documents.append(props["PolicyDocument"])
        elif kind == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
            documents.append(props["PolicyDocument"])
        elif kind == "AWS::KMS::Key":
            documents.append(props["KeyPolicy"])
        elif kind == "AWS::OpenSearchService::Domain" and "AccessPolicies" in props:
            documents.append(props["AccessPolicies"])
        elif kind == "AWS::Logs::ResourcePolicy":
            # a JSON string built with Fn::Join around the log group ARNs
            documents.append(json.loads(resolve(props["PolicyDocument"], {})))
        for document in documents:
            for statement in document["Statement"]:
                yield kind, logical_id, statement


BUCKET_DEPLOYMENT_ACTIONS = {
    "s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:PutObject", "s3:PutObjectLegalHold",
    "s3:PutObjectRetention", "s3:PutObjectTagging", "s3:PutObjectVersionTagging", "s3:Abort*",
}  # fmt: skip


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_walk_sees_every_kind_of_policy(synth: Synth) -> None:
    kinds = {kind for kind, _, _ in _statements(synth)}
    assert {
        "AWS::IAM::Policy",
        "AWS::S3::BucketPolicy",
        "AWS::KMS::Key",
        "AWS::OpenSearchService::Domain",
        "AWS::Logs::ResourcePolicy",
    } <= kinds
    assert sum(1 for _ in _statements(synth)) > 60


def test_no_wildcard_action_or_resource_outside_the_allow_list(synth: Synth) -> None:
    problems: list[str] = []
    for kind, logical_id, statement in _statements(synth):
        if statement["Effect"] == "Deny":
            continue  # denies may be broad (e.g. every s3:* without TLS)
        actions = [str(a) for a in _list(statement.get("Action", []))]
        resources = _list(statement.get("Resource", []))
        if kind == "AWS::S3::BucketPolicy" and "CustomS3AutoDeleteObjects" in json.dumps(statement.get("Principal")):
            # Only with removalPolicy=destroy: CDK's auto-delete provider empties the bucket (every
            # version) when the stack is deleted; its actions are CDK's fixed set.
            assert set(actions) <= AUTO_DELETE_ACTIONS, actions
            continue
        if kind == "AWS::IAM::Policy" and "CDKBucketDeployment" in logical_id:
            # CDK's BucketDeployment publishes the web pages: its fixed grants read the CDK asset
            # bucket, write the pages' bucket only, and invalidate the distribution after a publish.
            text = json.dumps(resources)
            if actions == ["cloudfront:GetInvalidation", "cloudfront:CreateInvalidation"]:
                continue
            assert set(actions) <= BUCKET_DEPLOYMENT_ACTIONS, actions
            assert "cdk-hnb659fds-assets" in text or ("WebPagesBucket" in text and "Uploads" not in text), text
            if any(a.startswith(("s3:Put", "s3:Delete", "s3:Abort")) for a in actions):
                assert "WebPagesBucket" in text and "assets" not in text, text
            continue
        if kind == "AWS::KMS::Key":
            # A key policy's "*" is the key itself; CDK's default statement lets the account's IAM
            # policies govern the key (kms:* for the account root), as AWS's default key policy does.
            principal = statement.get("Principal", {})
            if actions == ["kms:*"] and "root" in json.dumps(principal):
                continue
            actions = [
                a
                for a in actions
                if a
                not in ("kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey")
            ]
            resources = [r for r in resources if r != "*"]
        for action in actions:
            if "*" in action:
                problems.append(f"{logical_id}: wildcard action {action}")
        if "*" in resources:
            for action in actions:
                if action not in WILDCARD_RESOURCE_ALLOWED:
                    problems.append(f"{logical_id}: {action} on Resource '*'")
    assert problems == [], "\n".join(problems)


def test_no_function_may_put_metric_data_they_write_emf_log_lines(synth: Synth) -> None:
    """Model usage leaves the Lambdas as embedded-metric-format log lines (the recorded-calls test
    would report a PutMetricData call as ungranted), so the grant is nowhere."""
    from milkmobs_infra.function_specs import FUNCTION_SPECS, Metrics

    granted = [
        logical_id
        for _, logical_id, statement in _statements(synth)
        if "cloudwatch:PutMetricData" in _list(statement.get("Action", []))
    ]
    assert granted == []
    emitting = {s.name for s in FUNCTION_SPECS if s.metrics is Metrics.EMF}
    assert emitting == {"analysis-pegasus", "analysis-marengo", "search-similar"}
    for function in synth.resources("AWS::Lambda::Function").values():
        name = str(function["Properties"].get("FunctionName", "")).removeprefix("milkmobs-")
        if name in emitting:
            assert (
                function["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "MilkMobs/Bedrock"
            )


def _role_statements(synth: Synth, function_name: str) -> list[dict[str, Any]]:
    """The statements of the policies attached to one function's role."""
    (function,) = [
        f
        for f in synth.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == f"milkmobs-{function_name}"
    ]
    role = {"Ref": function["Properties"]["Role"]["Fn::GetAtt"][0]}
    policies = [
        p["Properties"] for p in synth.resources("AWS::IAM::Policy").values() if role in p["Properties"]["Roles"]
    ]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize("function_name", ["analysis-pegasus", "analysis-marengo", "search-similar"])
def test_bedrock_only_on_twelvelabs_models_for_the_two_model_functions(synth: Synth, function_name: str) -> None:
    statements = [
        s
        for s in _role_statements(synth, function_name)
        if any(str(a).startswith("bedrock:") for a in _list(s["Action"]))
    ]
    assert statements
    for statement in statements:
        for resource in _list(statement["Resource"]):
            if resource == "*":  # only the List action without a resource type
                assert _list(statement["Action"]) == ["bedrock:ListAsyncInvokes"], statement
                continue
            text = json.dumps(resource)
            assert "twelvelabs." in text or ":async-invoke/" in text, text
    actions = {a for s in statements for a in _list(s["Action"])}
    # StartAsyncInvoke is authorized as bedrock:InvokeModel; Get/ListAsyncInvokes are their own actions
    assert actions <= {"bedrock:InvokeModel", "bedrock:GetAsyncInvoke", "bedrock:ListAsyncInvokes"}


def test_no_other_function_may_call_bedrock(synth: Synth) -> None:
    for _, logical_id, statement in _statements(synth):
        if any(str(a).startswith("bedrock:") for a in _list(statement.get("Action", []))):
            assert any(n in logical_id for n in ("AnalysisPegasus", "AnalysisMarengo", "SearchSimilar")), logical_id


def test_search_similar_may_only_embed_text_with_marengo(synth: Synth) -> None:
    bedrock = [
        s
        for s in _role_statements(synth, "search-similar")
        if any(str(a).startswith("bedrock:") for a in _list(s["Action"]))
    ]
    assert [_list(s["Action"]) for s in bedrock] == [["bedrock:InvokeModel"]]
    assert all("marengo" in json.dumps(r) for s in bedrock for r in _list(s["Resource"]))


def test_start_execution_only_on_this_state_machine_and_only_by_start_analysis(synth: Synth) -> None:
    (machine_id,) = synth.resources("AWS::StepFunctions::StateMachine")
    holders = []
    for _, logical_id, statement in _statements(synth):
        if "states:StartExecution" in _list(statement.get("Action", [])):
            holders.append(logical_id)
            assert _list(statement["Resource"]) == [{"Ref": machine_id}]
    # start-analysis, and the sweep re-driving uploads whose notification was lost
    assert sorted(h.split("Role")[0] for h in holders) == ["FunctionsStartAnalysis", "FunctionsSweepStuckVideos"]


def test_functions_write_only_their_own_logs(synth: Synth) -> None:
    for kind, logical_id, statement in _statements(synth):
        if kind == "AWS::IAM::Policy" and "logs:PutLogEvents" in _list(statement.get("Action", [])):
            for resource in _list(statement["Resource"]):
                assert resource != "*" and "Fn::GetAtt" in json.dumps(resource), logical_id


DYNAMODB_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
READ_ONLY_FUNCTIONS = (
    "list-user-videos",
    "get-video-detail",
    "get-feed",
    "list-mobs",
    "get-mob",
    "search-similar",
    "get-execution-history",
    "admin-list-videos",
    "admin-get-stats",
    "admin-get-usage-stats",
)


@pytest.mark.parametrize("function_name", READ_ONLY_FUNCTIONS)
def test_read_functions_cannot_write_data_or_touch_the_bucket(synth: Synth, function_name: str) -> None:
    actions = {str(a) for s in _role_statements(synth, function_name) for a in _list(s["Action"])}
    assert not actions & DYNAMODB_WRITES, function_name
    assert not [a for a in actions if a.startswith("s3:")], function_name  # CloudFront serves the media
    assert not [a for a in actions if a.startswith("states:")] or function_name == "get-execution-history"


def test_only_the_upload_signer_and_the_media_steps_may_write_objects(synth: Synth) -> None:
    writers, page_writers = set(), set()
    for policy in synth.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "s3:PutObject" in _list(statement["Action"]):
                role = policy["Properties"]["Roles"][0]["Ref"]
                pages_only = "WebPagesBucket" in json.dumps(statement["Resource"])
                (page_writers if pages_only else writers).add(role)
    assert len(page_writers) == 1 and "CDKBucketDeployment" in next(iter(page_writers))  # publishes the pages
    names = {
        f["Properties"]["Role"]["Fn::GetAtt"][0]: f["Properties"]["FunctionName"]
        for f in synth.resources("AWS::Lambda::Function").values()
        if "FunctionName" in f["Properties"]
    }
    assert {names.get(w, w) for w in writers} == {
        "milkmobs-create-upload",
        "milkmobs-generate-thumbnail",
        "milkmobs-analysis-marengo",
    }
