"""Deployment choices, read once from CDK context (``cdk.json`` or ``-c key=value``).

Everything here is a *deploy* decision (sizes, names, retention, who is alerted). What the code
itself reads at run time is ``milkmobs.settings.Settings``; ``functions.settings_environment``
maps these values onto it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import aws_cdk as cdk


class AssetMode(StrEnum):
    """How the Lambda dependency layer is produced."""

    BUILD = "build"  # pip install the aarch64 wheels into a cached directory (real deployments)
    PLACEHOLDER = "placeholder"  # a tiny stand-in directory, so tests synthesize fast and offline


class Bytecode(StrEnum):
    """Whether the Lambda code and layers ship bytecode."""

    NONE = "none"  # sources only: Lambda compiles on each cold start (in memory, /var/task is read-only)
    # compileall inside the runtime's own CDK bundling image (Docker at synth): bytecode of exactly
    # the runtime's Python, unchecked-hash so the zip's timestamps cannot invalidate it
    RUNTIME_IMAGE = "runtime-image"


@dataclass(frozen=True)
class DeployConfig:
    """Every knob of the stack, with the seed architecture's values as defaults."""

    name_prefix: str = "milkmobs"
    # Data is kept when the stack is deleted or a resource replaced, but not when the first create
    # rolls back: a retained half-created resource with a fixed name (a log group, the domain)
    # would make the retried deploy fail with "already exists".
    removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
    # Other origins whose pages may upload to the bucket and play its media (the seed allows every
    # origin). The API itself admits the published pages' origin only.
    cors_origins: tuple[str, ...] = ("*",)
    api_throttle_rate: float = 50.0
    api_throttle_burst: int = 100
    api_stage: str = "prod"
    log_retention_days: int = 30
    # OpenSearch: the seed's single small data node; raise for production.
    opensearch_instance_type: str = "t3.small.search"
    opensearch_data_nodes: int = 1
    opensearch_volume_gb: int = 20
    opensearch_engine_version: str = "2.19"  # faiss and lucene HNSW; nmslib is deprecated
    # How many video vectors the domain must hold (docs/capacity.md): sizes the volumes and refuses
    # nodes whose k-NN memory cannot hold the graphs. None: the volume above, unchecked.
    opensearch_expected_vectors: int | None = None
    # Models (ids as in Settings; the inference-profile prefix is derived from the region).
    pegasus_model_id: str = "twelvelabs.pegasus-1-2-v1:0"
    marengo_model_id: str = "twelvelabs.marengo-embed-3-0-v1:0"
    bedrock_region: str | None = None  # None: the stack's region
    embedding_dimension: int | None = None  # None: the model's own (512 for Marengo 3.0)
    alarm_email: str | None = None  # an SNS topic is created only when someone is to be told
    asset_mode: AssetMode = AssetMode.BUILD
    bytecode: Bytecode = Bytecode.NONE
    # The admin hosted UI's domain prefix (<prefix>.auth.<region>.amazoncognito.com, unique per Region);
    # None: "<namePrefix>-admin-<account id>".
    admin_domain_prefix: str | None = None
    settings_overrides: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_context(cls, node: Any) -> DeployConfig:
        """Read ``milkmobs:<key>`` context values; unknown keys are ignored, bad values raise."""

        def get(key: str) -> Any:
            return node.try_get_context(f"milkmobs:{key}")

        values: dict[str, Any] = {}
        for key, conv in _CONTEXT_KEYS.items():
            raw = get(key)
            if raw is not None and raw != "":
                values[_SNAKE[key]] = conv(raw)
        return cls(**values)


def _removal(raw: Any) -> cdk.RemovalPolicy:
    # "retain" keeps data on update and delete, never a failed first create (see removal_policy)
    table = {
        "retain": cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        "destroy": cdk.RemovalPolicy.DESTROY,
        "snapshot": cdk.RemovalPolicy.SNAPSHOT,
    }
    try:
        return table[str(raw).lower()]
    except KeyError:
        raise ValueError(f"milkmobs:removalPolicy must be one of {sorted(table)}, got {raw!r}") from None


def _origins(raw: Any) -> tuple[str, ...]:
    # Context from -c arrives as a string: accept JSON lists and comma-separated values.
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip().startswith("[") else [o.strip() for o in raw.split(",") if o.strip()]
    return tuple(str(o) for o in raw)


def _dict(raw: Any) -> dict[str, Any]:
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


_CONTEXT_KEYS: dict[str, Any] = {
    "namePrefix": str,
    "removalPolicy": _removal,
    "corsOrigins": _origins,
    "apiThrottleRate": float,
    "apiThrottleBurst": int,
    "apiStage": str,
    "logRetentionDays": int,
    "openSearchInstanceType": str,
    "openSearchDataNodes": int,
    "openSearchVolumeGb": int,
    "openSearchEngineVersion": str,
    "openSearchExpectedVectors": int,
    "pegasusModelId": str,
    "marengoModelId": str,
    "bedrockRegion": str,
    "embeddingDimension": int,
    "alarmEmail": str,
    "assetMode": AssetMode,
    "bytecode": Bytecode,
    "settings": _dict,
    "adminDomainPrefix": str,
}
_SNAKE = {
    "namePrefix": "name_prefix",
    "removalPolicy": "removal_policy",
    "corsOrigins": "cors_origins",
    "apiThrottleRate": "api_throttle_rate",
    "apiThrottleBurst": "api_throttle_burst",
    "apiStage": "api_stage",
    "logRetentionDays": "log_retention_days",
    "openSearchInstanceType": "opensearch_instance_type",
    "openSearchDataNodes": "opensearch_data_nodes",
    "openSearchVolumeGb": "opensearch_volume_gb",
    "openSearchEngineVersion": "opensearch_engine_version",
    "openSearchExpectedVectors": "opensearch_expected_vectors",
    "pegasusModelId": "pegasus_model_id",
    "marengoModelId": "marengo_model_id",
    "bedrockRegion": "bedrock_region",
    "embeddingDimension": "embedding_dimension",
    "alarmEmail": "alarm_email",
    "assetMode": "asset_mode",
    "bytecode": "bytecode",
    "settings": "settings_overrides",
    "adminDomainPrefix": "admin_domain_prefix",
}
