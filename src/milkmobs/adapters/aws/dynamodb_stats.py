"""The admin stats counters of the videos table (see docs/data-model.md, "Stats counter items").

A video's *contribution* is what it adds to the counters (one in its status' count, its score,
its time to validate). Every write applies ``contribution(new) - contribution(old)`` to one
shard with ``ADD`` in the same transaction as the record write, so the totals are always
exact and reading them is one ``BatchGetItem`` of ``STATS_SHARDS`` items, whatever the
number of videos.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from milkmobs.domain import Video, VideoStats, VideoStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

STATS_SHARDS = 8
STATS_ID_PREFIX = "_stats#"

Contribution = dict[str, Decimal]


def shard_id(video_id: str) -> str:
    """The counter item a video's writes go to (stable, spread evenly)."""
    return f"{STATS_ID_PREFIX}{zlib.crc32(video_id.encode('utf-8')) % STATS_SHARDS}"


def all_shard_ids() -> list[str]:
    return [f"{STATS_ID_PREFIX}{i}" for i in range(STATS_SHARDS)]


def is_reserved_id(video_id: str) -> bool:
    return video_id.startswith(STATS_ID_PREFIX)


def contribution(video: Video | None) -> Contribution:
    """What ``video`` adds to the counters (nothing for None)."""
    if video is None:
        return {}
    result: Contribution = {f"n_{video.status.value}": Decimal(1)}
    if video.validation is not None:
        result["scoreSum"] = Decimal(repr(float(video.validation.score)))
        result["scoreCount"] = Decimal(1)
    if video.status is VideoStatus.VALIDATED and video.completed_at is not None:
        elapsed = video.completed_at - video.created_at
        # exact decimal seconds, so subtracting the same video later cancels exactly
        seconds = Decimal(elapsed.days * 86400 + elapsed.seconds) + Decimal(elapsed.microseconds) / Decimal(1_000_000)
        result["validateSecondsSum"] = seconds
        result["validateSecondsCount"] = Decimal(1)
    return result


def difference(new: Video | None, old: Video | None) -> Contribution:
    """``contribution(new) - contribution(old)`` without the zero entries."""
    plus, minus = contribution(new), contribution(old)
    delta = {name: plus.get(name, Decimal(0)) - minus.get(name, Decimal(0)) for name in plus.keys() | minus.keys()}
    return {name: value for name, value in delta.items() if value != 0}


def add_expression(delta: Contribution) -> tuple[str, dict[str, str], dict[str, AttributeValueTypeDef]]:
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
    counts = {status.value: int(sums.get(f"n_{status.value}", 0)) for status in VideoStatus}
    by_status = {status: count for status, count in counts.items() if count > 0}
    score_count = sums.get("scoreCount", Decimal(0))
    seconds_count = sums.get("validateSecondsCount", Decimal(0))
    return VideoStats(
        total_videos=sum(by_status.values()),
        by_status=by_status,
        average_validation_score=float(sums["scoreSum"] / score_count) if score_count > 0 else None,
        average_seconds_to_validate=float(sums["validateSecondsSum"] / seconds_count) if seconds_count > 0 else None,
    )
