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

from milkmobs.settings import Settings
from milkmobs_infra import assets
from milkmobs_infra._util import retention
from milkmobs_infra.config import AssetMode
from milkmobs_infra.function_specs import FUNCTION_SPECS, FunctionGroup, FunctionSpec

RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_VERSION = "3.14"  # the wheels pip fetches must match the runtime
ARCHITECTURE = lambda_.Architecture.ARM_64
# Functions that read a video copy it to /tmp first: room for the largest upload (500 MB by default).
MEDIA_EPHEMERAL_STORAGE_MIB = 1024


def settings_environment(values: Mapping[str, Any]) -> dict[str, str]:
    """Map ``Settings`` field names to ``MILKMOBS_*`` variables; an unknown name fails the synth.

    Strings (CDK tokens included) pass through; everything else is JSON, as pydantic-settings
    reads nested values.
    """
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise ValueError(f"not milkmobs.settings.Settings fields: {unknown}")
    env: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        env["MILKMOBS_" + name.upper()] = value if isinstance(value, str) else json.dumps(value)
    return env


class LambdaFunctions(Construct):
    """Every function of ``FUNCTION_SPECS``, sharing one code asset and one dependency layer.

    Each function gets its own role that can only write its own log group; the stack adds the
    table, bucket, model and domain permissions each one needs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        environment: Mapping[str, str],
        asset_mode: AssetMode,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(str(assets.SRC_DIR), exclude=list(assets.CODE_EXCLUDES))
        deps_dir = assets.build_layer_dir(
            "dependencies", assets.lambda_requirements(), python_version=RUNTIME_VERSION, mode=asset_mode
        )
        ffmpeg_dir = assets.build_layer_dir(
            "ffmpeg", assets.FFMPEG_REQUIREMENTS, python_version=RUNTIME_VERSION, mode=asset_mode
        )
        self.dependencies_layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=lambda_.Code.from_asset(str(deps_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="milkmobs runtime dependencies (pydantic, numpy, powertools, boto3, opensearch-py)",
        )
        self.ffmpeg_layer = lambda_.LayerVersion(
            self,
            "FFmpegLayer",
            code=lambda_.Code.from_asset(str(ffmpeg_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="static ffmpeg (imageio-ffmpeg) for generate-thumbnail",
        )
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        # Fail the synth, not the deployment, when a function would exceed Lambda's size limit.
        code_bytes = assets.directory_bytes(assets.SRC_DIR, assets.CODE_EXCLUDES)
        deps_bytes, ffmpeg_bytes = assets.directory_bytes(deps_dir), assets.directory_bytes(ffmpeg_dir)
        self.unzipped_bytes: dict[str, int] = {}
        for spec in FUNCTION_SPECS:
            parts = [code_bytes, deps_bytes] + ([ffmpeg_bytes] if spec.needs_ffmpeg else [])
            assets.check_unzipped_size(spec.name, parts)
            self.unzipped_bytes[spec.name] = sum(parts)
        for spec in FUNCTION_SPECS:
            self._add(spec, code, environment, name_prefix, log_retention_days, removal_policy)

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
        log_group = logs.LogGroup(
            scope, "Logs", retention=retention(log_retention_days), removal_policy=removal_policy
        )
        role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"milkmobs {spec.name}: least privilege, granted by the stack",
        )
        # Only its own log group: no AWSLambdaBasicExecutionRole (logs:* on every group).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        layers: list[lambda_.ILayerVersion] = [self.dependencies_layer]
        if spec.needs_ffmpeg:
            layers.append(self.ffmpeg_layer)
        function = lambda_.Function(
            scope,
            "Function",
            function_name=f"{name_prefix}-{spec.name}",
            description=f"milkmobs {spec.name} ({spec.group.value})",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=code,
            layers=layers,
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            role=role,
            log_group=log_group,
            ephemeral_storage_size=cdk.Size.mebibytes(MEDIA_EPHEMERAL_STORAGE_MIB) if spec.needs_ffmpeg else None,
            environment={**environment, "POWERTOOLS_SERVICE_NAME": spec.name},
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
