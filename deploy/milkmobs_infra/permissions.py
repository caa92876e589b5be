"""IAM from the declarations: each ``FunctionSpec``'s access becomes its role's statements.

Nothing here names a function: what a function may do is read from its spec only, so the
policy cannot drift from the declaration (and a test checks the declaration against the AWS
calls each handler really makes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn

from milkmobs.adapters.aws.bedrock.models import GEO_PREFIXES, base_model_id
from milkmobs_infra.function_specs import Data, Executions, FunctionSpec, Metrics, Model, Search

METRICS_NAMESPACE = "MilkMobs/Bedrock"

# The table's data actions of CDK's grant_read_data / grant_read_write_data, without the stream's.
TABLE_READ = (
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:GetItem",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
TABLE_WRITE = ("dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")

# OpenSearch HTTP verbs and index paths (relative to the index pattern) per access level.
# ``None`` as a path: the domain's own ``_bulk``.
_Grant = tuple[tuple[str, ...], tuple[str | None, ...]]
# every level: the adapter checks the index mapping once (HEAD, GET _mapping), reads a vector, counts
_INSPECT: _Grant = (("es:ESHttpHead", "es:ESHttpGet"), ("", "/_mapping", "/_doc/*", "/_count"))
SEARCH_GRANTS: dict[Search, tuple[_Grant, ...]] = {
    Search.READ: (_INSPECT, (("es:ESHttpPost",), ("/_search", "/_count"))),
    Search.WRITE: (_INSPECT, (("es:ESHttpPut", "es:ESHttpPost"), ("/_doc/*",))),
    Search.REWRITE: (_INSPECT, (("es:ESHttpPost", "es:ESHttpPut"), (None,))),
    Search.DELETE: (_INSPECT, (("es:ESHttpDelete",), ("/_doc/*",))),
    Search.ADMIN: (_INSPECT, (("es:ESHttpPut",), ("",))),
}


def search_grants(level: Search) -> list[_Grant]:
    """(actions, paths) for ``level``."""
    return list(SEARCH_GRANTS.get(level, ()))


@dataclass(frozen=True)
class Granted:
    """The stack's resources a declaration can name."""

    videos: dynamodb.ITable
    mobs: dynamodb.ITable
    bucket: s3.IBucket
    cursor_secret: secretsmanager.ISecret
    state_machine: sfn.IStateMachine
    executions_arn_prefix: str
    functions: Mapping[str, lambda_.IFunction]
    distribution_arn: str  # the CloudFront distribution serving the media
    domain_arn: str  # arn:…:es:…:domain/<name>
    index_pattern: str  # <prefix>*
    pegasus_model_id: str
    marengo_model_id: str
    bedrock_region: str


def model_arns(model_id: str, *, region: str, account: str) -> list[str]:
    """The foundation model and every inference profile of ``model_id`` in this account.

    A cross-Region profile routes the call to the model in another Region, so the foundation
    model ARN must allow every Region (``arn:<partition>:bedrock:*::``) — still only this one model.
    """
    base = base_model_id(model_id)
    return [
        f"arn:{cdk.Aws.PARTITION}:bedrock:*::foundation-model/{base}",
        *(
            f"arn:{cdk.Aws.PARTITION}:bedrock:{region}:{account}:inference-profile/{prefix}{base}"
            for prefix in GEO_PREFIXES
        ),
    ]


def model_statements(model: Model, granted: Granted, *, account: str) -> list[iam.PolicyStatement]:
    region = granted.bedrock_region
    if model is Model.PEGASUS:
        arns = model_arns(granted.pegasus_model_id, region=region, account=account)
        return [iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=arns)]
    arns = model_arns(granted.marengo_model_id, region=region, account=account)
    if model is Model.MARENGO_TEXT:
        return [iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=arns)]
    return [
        # StartAsyncInvoke has no IAM action of its own: it is authorized as bedrock:InvokeModel
        # (Bedrock API reference).
        iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=arns),
        # GetAsyncInvoke names a job, not the model: only this account's jobs in this Region.
        iam.PolicyStatement(
            actions=["bedrock:GetAsyncInvoke"],
            resources=[f"arn:{cdk.Aws.PARTITION}:bedrock:{region}:{account}:async-invoke/*"],
        ),
        # ListAsyncInvokes (finding the job a conflicting start already made) is a List action with
        # no resource type in the Service Authorization Reference: only "*" authorizes it, and a
        # narrower ARN would deny it in AWS.
        iam.PolicyStatement(actions=["bedrock:ListAsyncInvokes"], resources=["*"]),
    ]


def read_metrics_statement() -> iam.PolicyStatement:
    # GetMetricData and ListMetrics have no resource-level permissions (AWS requires "*").
    return iam.PolicyStatement(actions=["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"], resources=["*"])


def search_statements(level: Search, granted: Granted) -> list[iam.PolicyStatement]:
    """Identity statements for ``level``; the domain's resource policy repeats them per role."""
    return [
        iam.PolicyStatement(actions=list(actions), resources=search_paths(paths, granted))
        for actions, paths in search_grants(level)
    ]


def search_paths(paths: tuple[str | None, ...], granted: Granted) -> list[str]:
    return [
        f"{granted.domain_arn}/_bulk" if path is None else f"{granted.domain_arn}/{granted.index_pattern}{path}"
        for path in paths
    ]


def grant(spec: FunctionSpec, function: lambda_.Function, granted: Granted) -> None:
    """Give ``function`` exactly what ``spec`` declares (its own log group is granted elsewhere)."""
    stack = cdk.Stack.of(function)
    for table, access in ((granted.videos, spec.videos), (granted.mobs, spec.mobs)):
        if access is not Data.NONE:
            # grant_read_data would add the stream's GetRecords/GetShardIterator, which nothing reads
            table.grant(function, *(TABLE_READ + (TABLE_WRITE if access is Data.WRITE else ())))
    if spec.lists:
        # the video store signs its pagination cursors with this key, read at the first list
        granted.cursor_secret.grant_read(function)
    # Media, with exact actions on exact key patterns (the L2 grants add wildcard actions).
    for objects in spec.objects:
        resource = granted.bucket.arn_for_objects(objects.keys) if objects.keys else granted.bucket.bucket_arn
        function.add_to_role_policy(iam.PolicyStatement(actions=list(objects.actions), resources=[resource]))
    if spec.deletes_media:
        # a deleted object's cached copies leave CloudFront's edges (CreateInvalidation)
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["cloudfront:CreateInvalidation"], resources=[granted.distribution_arn])
        )
    for model in spec.models:
        for statement in model_statements(model, granted, account=stack.account):
            function.add_to_role_policy(statement)
    # Metrics.EMF needs no grant: the metrics are log lines in the function's own log group.
    if spec.metrics is Metrics.READ:
        function.add_to_role_policy(read_metrics_statement())
    for statement in search_statements(spec.search, granted):
        function.add_to_role_policy(statement)
    if spec.executions in (Executions.START, Executions.START_AND_READ):
        granted.state_machine.grant_start_execution(function)
    if spec.executions in (Executions.READ, Executions.START_AND_READ):
        # executions are named by the video id, so the adapter never needs to list them
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:GetExecutionHistory"],
                resources=[granted.executions_arn_prefix + ":*"],
            )
        )
    for target in spec.invokes:
        granted.functions[target].grant_invoke(function)
