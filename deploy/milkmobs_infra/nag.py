"""cdk-nag AwsSolutions findings we accept, each with its reason, on the narrowest scope we can name.

Wildcard findings (IAM5) are acknowledged finding by finding — the exact resource pattern, computed
from the constructs, never a logical-id hash typed in — so a new wildcard still fails the synth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from constructs import IConstruct

from milkmobs_infra.function_specs import FUNCTION_SPECS, Executions, Metrics, Model, Search, Trigger, the_one

if TYPE_CHECKING:
    from milkmobs_infra.stack import MilkMobsStack


BASIC_EXECUTION_ROLE = "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
API_GATEWAY_LOGS_ROLE = (
    "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]"
)


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions-{rule}", reason=reason))


def _arn(stack: cdk.Stack, construct: IConstruct) -> str:
    """How cdk-nag prints a resource's ``Fn::GetAtt … Arn`` inside a finding id."""
    element = construct.node.default_child
    assert isinstance(element, cdk.CfnElement)
    return f"<{stack.resolve(stack.get_logical_id(element))}.Arn>"


def _shown(value: str, pseudo: str) -> str:
    """How cdk-nag prints a region or account: ``<AWS::Region>`` while environment-agnostic,
    the value itself when the stack has a concrete environment (as under ``cdk deploy``)."""
    return f"<{pseudo}>" if cdk.Token.is_unresolved(value) else value


def acknowledge_findings(stack: MilkMobsStack) -> None:
    """Acknowledge every accepted finding of ``stack`` (called once it is fully built)."""
    fns = stack.functions.functions
    roles = stack.functions.roles  # findings on a function's permissions sit on its role
    videos_arn = _arn(stack, stack.tables.videos)
    bucket_arn = _arn(stack, stack.storage.bucket)
    index_prefix = stack.index_prefix
    region, account = _shown(stack.region, "AWS::Region"), _shown(stack.account, "AWS::AccountId")
    bedrock_region = stack.config.bedrock_region or region

    # --- IAM5: scoped wildcards, each the narrowest the service allows ------------------------
    for role in roles.values():
        _ack(
            role,
            f"IAM5[Resource::{videos_arn}/index/*]",
            "Queries on the Videos table's own GSIs (byUser, byStatus, byMob): DynamoDB needs the index ARNs.",
        )
        for pattern, why in (
            ("vid_*.mp4", "videos are vid_<id>.mp4"),
            ("vid_*", "videos are vid_<id>.mp4"),
            ("thumbnails/*", "thumbnails/<id>.jpg"),
            ("embeddings/*", "Marengo job output"),
        ):
            _ack(
                role,
                f"IAM5[Resource::{bucket_arn}/{pattern}]",
                f"Object access limited to one key pattern of the media bucket ({why}); ids are not known ahead.",
            )
    domain_path = f"arn:<AWS::Partition>:es:{region}:{account}:domain/{stack.search.domain_name}"
    for spec in FUNCTION_SPECS:
        role = roles[spec.name]
        _ack(
            role,
            "IAM5[Resource::*]",
            "Active tracing: xray:PutTraceSegments/PutTelemetryRecords take no resource (Powertools Tracer)."
            + (
                " cloudwatch:GetMetricData and ListMetrics have no resource-level permissions (read-only usage "
                "statistics)."
                if spec.metrics is Metrics.READ
                else ""
            )
            + (
                " bedrock:ListAsyncInvokes is a List action with no resource type (finding the job a "
                "conflicting start already made)."
                if Model.MARENGO in spec.models
                else ""
            ),
        )
        if spec.search is not Search.NONE:
            for path in ("", "/_mapping", "/_doc/*", "/_count", "/_search"):
                _ack(
                    role,
                    f"IAM5[Resource::{domain_path}/{index_prefix}*{path}]",
                    "OpenSearch paths of this deployment's indexes (<prefix>video-embeddings) of this one domain.",
                )
        for model in spec.models:
            model_id = stack.config.pegasus_model_id if model is Model.PEGASUS else stack.config.marengo_model_id
            base = (
                model_id.split(".", 1)[1] if model_id.split(".", 1)[0] in ("us", "eu", "apac", "global") else model_id
            )
            _ack(
                role,
                f"IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{base}]",
                "A cross-Region inference profile routes to this one model in any Region of its geography.",
            )
            if model is Model.MARENGO:
                _ack(
                    role,
                    f"IAM5[Resource::arn:<AWS::Partition>:bedrock:{bedrock_region}:{account}:async-invoke/*]",
                    "GetAsyncInvoke names a job, not a model: this account's Bedrock jobs in this Region only.",
                )
        if spec.executions in (Executions.READ, Executions.START_AND_READ):
            sm_name = stack.workflow.state_machine_name
            _ack(
                role,
                f"IAM5[Resource::arn:<AWS::Partition>:states:{region}:{account}:execution:{sm_name}:*]",
                "Reading executions of this one state machine (named by video id, not known ahead).",
            )
        for target in spec.invokes:
            _ack(
                role,
                f"IAM5[Resource::{_arn(stack, fns[target])}:*]",
                "CDK's grant_invoke covers the function's versions and aliases: still one function.",
            )
    _ack(
        stack.workflow.state_machine,
        "IAM5[Resource::*]",
        "X-Ray PutTraceSegments/GetSampling* and the CloudWatch Logs delivery actions that Step Functions "
        "logging needs have no resource-level permissions.",
    )
    for handler in stack.workflow.definition.lambda_functions():
        _ack(
            stack.workflow.state_machine,
            f"IAM5[Resource::{_arn(stack, fns[handler])}:*]",
            "The state machine invokes this one function (any version or alias).",
        )

    # --- CDK-provided helper functions ---------------------------------------------------------
    for child in stack.node.children:
        if child.node.id.startswith("BucketNotificationsHandler"):
            _ack(
                child,
                BASIC_EXECUTION_ROLE,
                "CDK's bucket-notification helper uses AWSLambdaBasicExecutionRole (logs only).",
            )
    pages_arn = _arn(stack, stack.web.bucket)
    for child in stack.node.children:
        if child.node.id.startswith("Custom::CDKBucketDeployment"):  # publishes the web pages
            why = "CDK's BucketDeployment copies the pages from the CDK asset bucket into the pages bucket"
            _ack(child, BASIC_EXECUTION_ROLE, f"{why}; AWSLambdaBasicExecutionRole gives it logs only.")
            for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"):
                _ack(child, f"IAM5[Action::{action}]", f"{why} (CDK's read/write grant on those two buckets).")
            assets = f"arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-{account}-{region}"
            _ack(child, f"IAM5[Resource::{assets}/*]", f"{why}: it reads the bootstrap asset bucket's objects.")
            _ack(child, f"IAM5[Resource::{pages_arn}/*]", f"{why}: it writes and prunes the pages' objects.")
            _ack(
                child,
                "IAM5[Resource::*]",
                "cloudfront:CreateInvalidation/GetInvalidation after a publish (no narrower resource in CDK's grant).",
            )
            _ack(child, "L1", "The runtime of CDK's BucketDeployment handler is chosen by the CDK release.")
    provider = stack.video_index.provider
    _ack(
        provider,
        BASIC_EXECUTION_ROLE,
        "The custom-resource Provider framework uses AWSLambdaBasicExecutionRole (logs only).",
    )
    _ack(
        provider,
        f"IAM5[Resource::{_arn(stack, fns[the_one(Trigger.CUSTOM_RESOURCE).name])}:*]",
        "The Provider framework invokes create-opensearch-index only (any version).",
    )

    # --- service-level choices -------------------------------------------------------------------
    _ack(
        stack.api.api,
        API_GATEWAY_LOGS_ROLE,
        "API Gateway's account-level CloudWatch role needs AmazonAPIGatewayPushToCloudWatchLogs.",
    )
    _ack(stack.api.api, "APIG3", "No WAF by default (cost); attach a web ACL to the stage for public launches.")
    public = "Public consumer route of the API contract (ARCHITECTURE.md); only /admin/* needs a signed-in admin."
    for (_method, path), method in stack.api.methods.items():
        if not path.startswith("/admin/"):
            _ack(method, "APIG4", public)
            _ack(method, "COG4", public)
    distribution = stack.delivery.distribution
    _ack(distribution, "CFR1", "A campaign is not limited to some countries; add geo restrictions per campaign.")
    _ack(distribution, "CFR2", "No WAF by default (cost); videos are public campaign content.")
    _ack(
        distribution,
        "CFR4",
        "The default *.cloudfront.net certificate's policy is fixed at TLSv1; give the distribution a custom "
        "domain and certificate (with minimum protocol TLSv1.2_2021) to close it.",
    )
    domain = stack.search.domain
    _ack(
        domain,
        "OS1",
        "Public endpoint with an IAM resource policy naming the functions' roles and SigV4 on "
        "every call; a VPC would put every Lambda behind NAT or VPC endpoints for no gain here.",
    )
    _ack(
        domain,
        "OS3",
        "Access is limited by IAM principals (the functions' roles), not by IP: Lambdas have no fixed addresses.",
    )
    _ack(domain, "OS4", "The seed's single small data node; dedicated masters are a size prop away for production.")
    if stack.config.opensearch_data_nodes == 1:
        _ack(domain, "OS7", "One data node (the seed's size): zone awareness needs at least two.")
    _ack(
        stack.failures.queue,
        "SQS3",
        "This queue is the dead-letter queue: the rule targets' DLQ and the functions' on-failure destination.",
    )
    _ack(
        stack.cursor_secret,
        "SMG4",
        "The cursor HMAC key: rotating it only invalidates open pagination cursors; rotate by redeploying.",
    )
