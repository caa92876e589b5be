"""What the core needs to know, as plain values (the composition root maps Settings onto it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from milkmobs.core.limits import LIMITS
from milkmobs.domain import Campaign


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
    #: USD per second of video, by Bedrock model id: usage under any other model id (the local and
    #: fake analyzers) costs nothing.
    prices_per_second: dict[str, float] = field(
        default_factory=lambda: {
            "twelvelabs.pegasus-1-2-v1:0": 0.00049,
            "twelvelabs.marengo-embed-3-0-v1:0": 0.00070,
        }
    )
