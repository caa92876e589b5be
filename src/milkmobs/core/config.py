"""What the core needs to know, as plain values (the composition root maps Settings onto it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from milkmobs.core.limits import LIMITS
from milkmobs.domain import Campaign, ModelType


@dataclass(frozen=True)
class CoreConfig:
    campaign: Campaign = field(default_factory=Campaign)
    max_upload_bytes: int = LIMITS.max_upload_bytes
    max_video_seconds: int = LIMITS.max_video_seconds
    upload_url_expires_seconds: int = 300
    read_url_expires_seconds: int = 3600
    cluster_join_threshold: float = 0.75
    batch_cluster_k: int | None = None
    batch_cluster_max_iter: int = 50
    batch_cluster_sample: int = 100_000
    random_seed: int = 0
    prices_per_second: dict[ModelType, float] = field(
        default_factory=lambda: {ModelType.PEGASUS: 0.00049, ModelType.MARENGO: 0.00070}
    )
