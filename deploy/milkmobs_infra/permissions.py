"""IAM statements the L2 ``grant_*`` methods do not express: Bedrock models, metrics, workflow reads."""

from __future__ import annotations

from aws_cdk import aws_iam as iam

from milkmobs.adapters.aws.bedrock.models import GEO_PREFIXES, base_model_id

METRICS_NAMESPACE = "MilkMobs/Bedrock"


def model_arns(model_id: str, *, region: str, account: str) -> list[str]:
    """The foundation model and every inference profile of ``model_id`` in this account.

    A cross-Region profile routes the call to the model in another Region, so the foundation
    model ARN must allow every Region (``arn:aws:bedrock:*::``) — still only this one model.
    """
    base = base_model_id(model_id)
    return [
        f"arn:aws:bedrock:*::foundation-model/{base}",
        *(f"arn:aws:bedrock:{region}:{account}:inference-profile/{prefix}{base}" for prefix in GEO_PREFIXES),
    ]


def pegasus_statements(model_id: str, *, region: str, account: str) -> list[iam.PolicyStatement]:
    return [iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=model_arns(model_id, region=region,
                                                                                      account=account))]


def marengo_statements(model_id: str, *, region: str, account: str) -> list[iam.PolicyStatement]:
    return [
        # StartAsyncInvoke has no IAM action of its own: it is authorized as bedrock:InvokeModel
        # (Bedrock API reference); InvokeModel also serves Marengo text embeddings.
        iam.PolicyStatement(
            actions=["bedrock:InvokeModel"], resources=model_arns(model_id, region=region, account=account)
        ),
        # GetAsyncInvoke names the job, not the model: only this account's jobs in this Region.
        iam.PolicyStatement(
            actions=["bedrock:GetAsyncInvoke"], resources=[f"arn:aws:bedrock:{region}:{account}:async-invoke/*"]
        ),
    ]


def text_embedding_statement(model_id: str, *, region: str, account: str) -> iam.PolicyStatement:
    """Marengo text embeddings (GET /search/text): InvokeModel on the Marengo model only."""
    return iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=model_arns(model_id, region=region,
                                                                                      account=account))


def put_metrics_statement() -> iam.PolicyStatement:
    # PutMetricData has no resource-level permissions (AWS requires "*"); the namespace
    # condition is what limits it to milkmobs' own metrics.
    return iam.PolicyStatement(
        actions=["cloudwatch:PutMetricData"],
        resources=["*"],
        conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
    )


def read_metrics_statement() -> iam.PolicyStatement:
    # GetMetricData has no resource-level permissions either (AWS requires "*"); read-only.
    return iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"])


def execution_read_statements(executions_arn_prefix: str) -> list[iam.PolicyStatement]:
    """Read one execution and its history (GET /execution-history): executions are named by the
    video id, so the adapter never needs to list them."""
    return [
        iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:GetExecutionHistory"],
            resources=[executions_arn_prefix + ":*"],
        ),
    ]
