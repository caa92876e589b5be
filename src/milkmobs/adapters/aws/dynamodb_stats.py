"""The admin stats counters of the videos table (see docs/data-model.md, "Stats counter items").

A video's contribution to the counters is the domain's rule (``milkmobs.domain.stats``). Every
write applies ``stats_change(new, old)`` to one shard with ``ADD`` in the same transaction as the
record write, so the totals are always exact and reading them is one ``BatchGetItem`` of
``STATS_SHARDS`` items, whatever the number of videos.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from milkmobs.domain import VideoStats
from milkmobs.domain.stats import StatsCounters, stats_from_counters

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

STATS_SHARDS = 8
STATS_ID_PREFIX = "_stats#"


def shard_id(video_id: str) -> str:
    """The counter item a video's writes go to (stable, spread evenly)."""
    return f"{STATS_ID_PREFIX}{zlib.crc32(video_id.encode('utf-8')) % STATS_SHARDS}"


def all_shard_ids() -> list[str]:
    return [f"{STATS_ID_PREFIX}{i}" for i in range(STATS_SHARDS)]


def is_reserved_id(video_id: str) -> bool:
    return video_id.startswith(STATS_ID_PREFIX)


def add_expression(delta: StatsCounters) -> tuple[str, dict[str, str], dict[str, AttributeValueTypeDef]]:
    """``ADD`` update expression, names and values for ``delta``."""
    names: dict[str, str] = {}
    values: dict[str, AttributeValueTypeDef] = {}
    parts: list[str] = []
    for i, (name, value) in enumerate(sorted(delta.items())):
        names[f"#c{i}"] = name
        values[f":c{i}"] = {"N": str(value)}
        parts.append(f"#c{i} :c{i}")
    return "ADD " + ", ".join(parts), names, values


def totals(items: Sequence[Mapping[str, Any]]) -> VideoStats:
    """Sum the shards into the admin figures (``active_mobs`` is the core's to fill)."""
    sums: dict[str, Decimal] = {}
    for item in items:
        for name, attribute in item.items():
            if "N" in attribute:
                sums[name] = sums.get(name, Decimal(0)) + Decimal(attribute["N"])
    return stats_from_counters(sums)
