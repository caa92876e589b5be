"""What the core needs to know, as plain values.

The composition root builds it from ``milkmobs.settings.Settings`` (``bootstrap.core_config``), where
every default lives: this class has none of its own, so a default cannot differ between the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from milkmobs.domain import Campaign


@dataclass(frozen=True, kw_only=True)
class CoreConfig:
    campaign: Campaign
    max_upload_bytes: int
    max_video_seconds: int
    upload_url_expires_seconds: int
    read_url_expires_seconds: int
    cluster_join_threshold: float
    batch_cluster_k: int | None
    batch_cluster_max_iter: int
    batch_cluster_sample: int
    random_seed: int
    #: USD per second of video, by Bedrock model id: usage under any other model id (the local and
    #: fake analyzers) costs nothing.
    prices_per_second: Mapping[str, float]
