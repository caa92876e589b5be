"""Failure paths end somewhere, limits agree, and a failed first deploy can be retried."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from deploy_support import ALARM_EMAIL, Synth, state_machine_definition
from milkmobs_infra.regions import MODEL_REGIONS, regions_offering, require_models_offered

from milkmobs.adapters.aws.clients import BEDROCK_READ_TIMEOUT_SECONDS
from milkmobs.adapters.aws.dynamodb_videos import EXPIRES_AT_ATTRIBUTE
from milkmobs.core.limits import LIMITS
from milkmobs.core.workflow import ANALYSIS_WORKFLOW

PEGASUS, MARENGO = "twelvelabs.pegasus-1-2-v1:0", "twelvelabs.marengo-embed-3-0-v1:0"


def _functions_by_id(synth: Synth) -> dict[str, str]:
    """Logical id → our function name (CDK's helpers have none)."""
    return {
        logical_id: str(r["Properties"]["FunctionName"]).split("-", 1)[1]
        for logical_id, r in synth.resources("AWS::Lambda::Function").items()
        if isinstance(r["Properties"].get("FunctionName"), str)
    }


def _function_of(reference: Any, functions: dict[str, str]) -> str | None:
    text = json.dumps(reference)
    return next((name for logical_id, name in functions.items() if f'"{logical_id}"' in text), None)


def _queue_id(synth: Synth) -> str:
    (queue_id,) = synth.resources("AWS::SQS::Queue")
    return queue_id


# --- 3. failure paths -----------------------------------------------------------------------------
def test_every_asynchronously_invoked_function_has_an_on_failure_queue(synth: Synth) -> None:
    functions = _functions_by_id(synth)
    # whom S3 or EventBridge may invoke (resource policies), and whom another function invokes
    invoked_async = {
        _function_of(p["Properties"]["FunctionName"], functions)
        for p in synth.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] in ("s3.amazonaws.com", "events.amazonaws.com")
    }
    for logical_id, policy in synth.resources("AWS::IAM::Policy").items():
        if logical_id.startswith("Functions"):  # a function's own role (not the state machine's)
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if "lambda:InvokeFunction" in json.dumps(statement["Action"]):
                    invoked_async.add(_function_of(statement["Resource"], functions))
    assert invoked_async == {
        "start-analysis",
        "generate-thumbnail",
        "cluster-embeddings",
        "analysis-mark-failed",
        "sweep-stuck-videos",
    }
    configs = {
        _function_of(c["Properties"]["FunctionName"], functions): c["Properties"]
        for c in synth.resources("AWS::Lambda::EventInvokeConfig").values()
    }
    queue = _queue_id(synth)
    for name in invoked_async:
        assert name in configs, f"{name} drops its failed events"
        destination = configs[name]["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == {"Fn::GetAtt": [queue, "Arn"]}
        assert configs[name]["MaximumRetryAttempts"] == 2


def test_every_rule_target_has_the_dead_letter_queue(synth: Synth) -> None:
    queue = _queue_id(synth)
    targets = [t for rule in synth.resources("AWS::Events::Rule").values() for t in rule["Properties"]["Targets"]]
    assert len(targets) == 3  # re-clustering, sweep, timed-out executions
    for target in targets:
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2


def test_a_message_in_the_queue_raises_an_alarm_that_notifies(synth: Synth) -> None:
    queue = _queue_id(synth)
    (alarm,) = [
        a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmName") == "AsyncInvocationFailures"
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    (topic,) = synth.resources("AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic}]
    (subscription,) = synth.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Endpoint"] == ALARM_EMAIL


def test_pending_uploads_expire_through_the_tables_ttl(synth: Synth) -> None:
    (videos,) = [
        t
        for t in synth.resources("AWS::DynamoDB::GlobalTable").values()
        if t["Properties"]["KeySchema"] == [{"AttributeName": "videoId", "KeyType": "HASH"}]
    ]
    assert videos["Properties"]["TimeToLiveSpecification"] == {"AttributeName": EXPIRES_AT_ATTRIBUTE, "Enabled": True}


# --- 4. limits --------------------------------------------------------------------------------------
def test_lambda_timeouts_match_the_steps_they_run_and_outlast_the_bedrock_client(synth: Synth) -> None:
    functions = {name: synth.template["Resources"][lid]["Properties"] for lid, name in _functions_by_id(synth).items()}
    longest: dict[str, int] = {}
    for task in ANALYSIS_WORKFLOW.tasks():
        longest[task.handler] = max(longest.get(task.handler, 0), task.timeout_seconds)
    for handler, seconds in longest.items():
        # never killed before Step Functions gives up on the step, never running on after it
        assert functions[handler]["Timeout"] == seconds, handler
    assert LIMITS.bedrock_read_timeout_seconds == BEDROCK_READ_TIMEOUT_SECONDS
    assert functions["analysis-pegasus"]["Timeout"] > BEDROCK_READ_TIMEOUT_SECONDS
    definition = state_machine_definition(synth)
    assert definition["TimeoutSeconds"] == LIMITS.execution_seconds


# --- 5. a retryable first deploy ---------------------------------------------------------------------
def test_the_domain_waits_for_its_log_policy(synth: Synth) -> None:
    (domain,) = synth.resources("AWS::OpenSearchService::Domain").values()
    (policy,) = synth.resources("AWS::Logs::ResourcePolicy")
    assert policy in domain["DependsOn"]


def test_no_arn_names_a_partition_literally(concrete_synth: Synth, synth: Synth) -> None:
    for template in (concrete_synth.template, synth.template):
        text = json.dumps(template)
        assert "arn:aws:" not in text and "arn:aws-" not in text


_FIXED_NAMES = (
    "FunctionName",
    "LogGroupName",
    "DomainName",
    "StateMachineName",
    "Name",
    "DashboardName",
    "AlarmName",
    "TopicName",
    "QueueName",
    "TableName",
    "BucketName",
    "PolicyName",
    "ResourcePolicyName",
)


def test_nothing_is_retained_when_the_first_create_rolls_back(concrete_synth: Synth) -> None:
    resources = concrete_synth.template["Resources"]
    kept = {lid: r["Type"] for lid, r in resources.items() if r.get("DeletionPolicy") == "RetainExceptOnCreate"}
    assert {"AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket", "AWS::OpenSearchService::Domain"} <= set(kept.values())
    for logical_id, resource in resources.items():
        assert resource.get("DeletionPolicy") != "Retain", f"{logical_id} would block a retried first deploy"
        named = [k for k in _FIXED_NAMES if isinstance(resource.get("Properties", {}).get(k), str)]
        if named:
            assert resource.get("DeletionPolicy") in (None, "Delete", "RetainExceptOnCreate"), logical_id


def test_the_agnostic_template_refuses_regions_without_the_models(synth: Synth) -> None:
    (assertion,) = synth.template["Rules"]["ModelsOfferedInRegion"]["Assertions"]
    regions, region = assertion["Assert"]["Fn::Contains"]
    assert region == {"Ref": "AWS::Region"} and set(regions) == regions_offering([PEGASUS, MARENGO])
    assert set(regions) == {"us-east-1", "eu-west-1", "ap-northeast-2"}


@pytest.mark.parametrize("region", ["us-west-2", "eu-central-1", "sa-east-1"])
def test_synth_refuses_a_region_without_both_models(region: str) -> None:
    stack = cdk.Stack(cdk.App(), env=cdk.Environment(region=region))
    with pytest.raises(ValueError, match=f"not all offered in {region}.*ap-northeast-2, eu-west-1, us-east-1"):
        require_models_offered(stack, region=region, stack_region=region, model_ids=[PEGASUS, MARENGO])


def test_synth_refuses_a_bedrock_region_other_than_the_buckets() -> None:
    stack = cdk.Stack(cdk.App(), env=cdk.Environment(region="eu-west-1"))
    with pytest.raises(ValueError, match="must be in the model's Region"):
        require_models_offered(stack, region="us-east-1", stack_region="eu-west-1", model_ids=[PEGASUS, MARENGO])


def test_a_supported_concrete_region_adds_no_rule_and_profiles_count_as_their_model() -> None:
    stack = cdk.Stack(cdk.App(), env=cdk.Environment(region="ap-northeast-2"))
    require_models_offered(
        stack,
        region="ap-northeast-2",
        stack_region="ap-northeast-2",
        model_ids=["apac.twelvelabs.pegasus-1-2-v1:0", MARENGO],
    )
    assert "ModelsOfferedInRegion" not in Template.from_stack(stack).to_json().get("Rules", {})


def test_a_model_without_a_region_list_cannot_skip_the_check() -> None:
    with pytest.raises(ValueError, match="MODEL_REGIONS"):
        regions_offering(["twelvelabs.pegasus-9-9-v1:0"])
    assert all(MODEL_REGIONS.values())
