"""Functions: the 22 Lambdas, each with its own role, log group and the settings it runs with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from milkmobs.settings import GROUPS, Settings, env_name
from milkmobs_infra import assets, permissions
from milkmobs_infra._util import retention
from milkmobs_infra.config import AssetMode, Bytecode
from milkmobs_infra.function_specs import (
    FUNCTION_SPECS,
    Data,
    Executions,
    FunctionGroup,
    FunctionSpec,
    Metrics,
    Search,
    Trigger,
)

RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_VERSION = "3.14"  # the wheels pip fetches must match the runtime
ARCHITECTURE = lambda_.Architecture.ARM_64
# Functions that read a video copy it to /tmp first: room for the largest upload (500 MB by default).
MEDIA_EPHEMERAL_STORAGE_MIB = 1024


def _group(name: str, *fields: str) -> frozenset[str]:
    """Settings of group ``name`` by dotted name (``aws.region``); all of the group's without ``fields``."""
    return frozenset(f"{name}.{field}" for field in (fields or GROUPS[name].model_fields))


# What every function reads: the core's configuration (built whole in every container) and what
# picks its adapters. Every adapter is built on first use, so the settings of one are read only by
# the functions that use it.
CORE_SETTINGS = (
    frozenset({"backend", "campaign", "random_seed"})
    | _group("uploads")
    | _group("clustering")
    | _group("aws", "region", "media_processing")
)
MEDIA_SETTINGS = _group("aws", "media_bucket", "media_bucket_owner", "cloudfront_domain")
MODEL_SETTINGS = _group("models")
SEARCH_SETTINGS = _group("opensearch")
# The dimension of embeddings (and of the index) is the embedding model's.
EMBEDDING_SETTINGS = _group("models", "embedding_dimension", "marengo_model_id")
# A usage report names and prices the configured models.
USAGE_SETTINGS = _group(
    "models", "pegasus_model_id", "marengo_model_id", "pegasus_price_per_second", "marengo_price_per_second"
)
# The setting that names a function another one invokes.
INVOKED_BY_SETTING = {"generate-thumbnail": "aws.thumbnail_function_name"}


def settings_read_by(spec: FunctionSpec) -> frozenset[str]:
    """The settings (dotted: ``aws.videos_table``) ``spec``'s function reads: the core's, plus those of
    what it may touch. Its environment holds these and no other."""
    fields = set(CORE_SETTINGS)
    if spec.videos is not Data.NONE:
        fields |= _group("aws", "videos_table")
    if spec.lists:
        fields.add("aws.cursor_secret_id")
    if spec.mobs is not Data.NONE:
        fields |= _group("aws", "mobs_table")
    if spec.objects or spec.views:
        fields |= MEDIA_SETTINGS
    if spec.models:
        fields |= MODEL_SETTINGS | MEDIA_SETTINGS  # Bedrock reads the video from the bucket
    if spec.search is not Search.NONE:
        fields |= SEARCH_SETTINGS | EMBEDDING_SETTINGS
    if spec.embeddings:
        fields |= EMBEDDING_SETTINGS
    if spec.metrics is Metrics.READ:
        fields |= USAGE_SETTINGS
    if spec.executions is not Executions.NONE:
        fields.add("aws.state_machine_arn")
    if Trigger.API in spec.triggers:
        fields.add("http.cors_origins")
    if spec.deletes_media:
        fields.add("aws.cloudfront_distribution_id")
    fields |= {INVOKED_BY_SETTING[name] for name in spec.invokes}
    return frozenset(fields)


def known_setting(name: str) -> bool:
    """``backend`` or ``aws.region``: a top-level setting or one of a group."""
    group, _, field = name.partition(".")
    if not field:
        return group in Settings.model_fields and group not in GROUPS
    return group in GROUPS and field in GROUPS[group].model_fields


def settings_environment(values: Mapping[str, Any]) -> dict[str, str]:
    """Map settings (dotted names) to ``MILKMOBS_*`` variables; an unknown name fails the synth.

    Strings (CDK tokens included) pass through; everything else is JSON, as pydantic-settings
    reads nested values.
    """
    unknown = sorted(name for name in values if not known_setting(name))
    if unknown:
        raise ValueError(f"not milkmobs.settings.Settings settings: {unknown} (a group's are dotted: aws.region)")
    env: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        env[env_name(name)] = value if isinstance(value, str) else json.dumps(value)
    return env


def environment_for(spec: FunctionSpec, values: Mapping[str, Any]) -> dict[str, str]:
    """Only the settings ``spec`` reads, from the stack's ``values`` (dotted setting names)."""
    wanted = settings_read_by(spec)
    chosen = {name: value for name, value in values.items() if name in wanted}
    chosen["aws.media_processing"] = spec.media
    return settings_environment(chosen)


class LambdaFunctions(Construct):
    """Every function of ``FUNCTION_SPECS``: one code asset, the dependency layer, and the media
    layer for the functions that declare ``media``.

    Each function gets its own role that can only write its own log group (``permissions.grant``
    adds what its spec declares) and only the settings it reads.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        settings_values: Mapping[str, Any],
        asset_mode: AssetMode,
        log_retention_days: int,
        bytecode: Bytecode = Bytecode.NONE,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        bundling = assets.bytecode_bundling(RUNTIME) if bytecode is Bytecode.RUNTIME_IMAGE else None
        code = lambda_.Code.from_asset(str(assets.SRC_DIR), exclude=list(assets.CODE_EXCLUDES), bundling=bundling)
        layer_dirs = {
            name: assets.build_layer_dir(name, lock, python_version=RUNTIME_VERSION, mode=asset_mode)
            for name, lock in assets.LAYER_LOCKS.items()
        }
        self.layers: dict[str, lambda_.LayerVersion] = {
            name: lambda_.LayerVersion(
                self,
                f"{name.capitalize()}Layer",
                code=lambda_.Code.from_asset(str(path), bundling=bundling),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description=assets.LAYER_DESCRIPTIONS[name],
            )
            for name, path in layer_dirs.items()
        }
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        # Fail the synth, not the deployment, when a function would exceed Lambda's size limit.
        code_bytes = assets.directory_bytes(assets.SRC_DIR, assets.CODE_EXCLUDES)
        layer_bytes = {name: assets.directory_bytes(path) for name, path in layer_dirs.items()}
        self.unzipped_bytes: dict[str, int] = {}
        for spec in FUNCTION_SPECS:
            parts = [code_bytes, *(layer_bytes[name] for name in assets.layers_of(spec))]
            assets.check_unzipped_size(spec.name, parts)
            self.unzipped_bytes[spec.name] = sum(parts)
        for spec in FUNCTION_SPECS:
            self._add(
                spec, code, environment_for(spec, settings_values), name_prefix, log_retention_days, removal_policy
            )

    def _add(
        self,
        spec: FunctionSpec,
        code: lambda_.Code,
        environment: Mapping[str, str],
        name_prefix: str,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        scope = Construct(self, _pascal(spec.name))
        log_group = logs.LogGroup(scope, "Logs", retention=retention(log_retention_days), removal_policy=removal_policy)
        role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"milkmobs {spec.name}: least privilege, from its declaration",
        )
        # Only its own log group: no AWSLambdaBasicExecutionRole (logs:* on every group).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        function = lambda_.Function(
            scope,
            "Function",
            function_name=f"{name_prefix}-{spec.name}",
            description=f"milkmobs {spec.name} ({spec.group.value})",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=code,
            layers=[self.layers[name] for name in assets.layers_of(spec)],
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            role=role,
            log_group=log_group,
            ephemeral_storage_size=cdk.Size.mebibytes(MEDIA_EPHEMERAL_STORAGE_MIB) if spec.media else None,
            # Powertools Tracer writes X-Ray subsegments under the segment Lambda opens
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": permissions.METRICS_NAMESPACE,
            },
        )
        self.functions[spec.name] = function
        self.roles[spec.name] = role

    def __getitem__(self, name: str) -> lambda_.Function:
        return self.functions[name]

    def group(self, group: FunctionGroup) -> list[lambda_.Function]:
        """The functions of one group, in seed order."""
        return [self.functions[s.name] for s in FUNCTION_SPECS if s.group is group]


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
