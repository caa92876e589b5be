"""Readable terminal output (rich tables) and the ``--json`` form for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from milkmobs.core.views import ClusteringReport, SimilarVideos, VideoView
from milkmobs.domain import ExecutionRecord, Mob, UsageReport, VideoStats
from milkmobs.domain.base import DomainModel


def print_json(value: DomainModel | Sequence[DomainModel] | dict[str, Any]) -> None:
    """One JSON document on stdout (camelCase, like the HTTP API)."""
    if isinstance(value, DomainModel):
        data: Any = value.to_json_dict()
    elif isinstance(value, dict):
        data = value
    else:
        data = [item.to_json_dict() for item in value]
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def video_table(videos: Sequence[VideoView], title: str = "videos") -> Table:
    table = Table(title=title)
    table.add_column("video", no_wrap=True)  # ids are what users copy into the next command
    table.add_column("status", no_wrap=True)
    table.add_column("score", no_wrap=True)
    for col in ("mob", "hashtags", "title"):
        table.add_column(col)
    for v in videos:
        table.add_row(
            v.video_id,
            v.status.value,
            _score(v.validation.score if v.validation else None),
            v.mob_name or v.mob_id or "–",
            " ".join(f"#{t}" for t in v.hashtags),
            v.title,
        )
    return table


def show_video(console: Console, video: VideoView, executions: Sequence[ExecutionRecord]) -> None:
    table = Table(title=f"video {video.video_id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("status", video.status.value)
    table.add_row("user", video.user_id)
    table.add_row("title", video.title or "–")
    table.add_row("hashtags", " ".join(f"#{t}" for t in video.hashtags) or "–")
    if video.validation:
        b = video.validation.breakdown
        table.add_row("score", f"{video.validation.score:.2f} ({'passed' if video.validation.passed else 'failed'})")
        table.add_row(
            "breakdown",
            f"visual {b.visual:.2f} · audio {_score(b.audio)} · ocr {b.ocr:.2f} · hashtags {b.hashtags:.2f}",
        )
        for reason in video.validation.reasons:
            table.add_row("", f"· {reason}")
    table.add_row("mob", video.mob_name or video.mob_id or "–")
    if video.failure:
        table.add_row("failed at", f"{video.failure.step}: {video.failure.error}")
    console.print(table)
    for execution in executions[:1]:
        steps = Table(title=f"execution {execution.execution_id} · {execution.status.value}")
        for col in ("step", "status", "attempts", "error"):
            steps.add_column(col)
        for step in execution.steps:
            steps.add_row(step.name, step.status.value, str(step.attempts), step.error or "")
        console.print(steps)


def mob_table(mobs: Sequence[Mob]) -> Table:
    table = Table(title="mobs")
    table.add_column("mob", no_wrap=True)
    for col in ("name", "videos", "hashtags"):
        table.add_column(col)
    for m in mobs:
        table.add_row(m.mob_id, m.name, str(m.video_count), " ".join(f"#{t}" for t in m.example_hashtags))
    return table


def similar_table(result: SimilarVideos, title: str) -> Table:
    table = Table(title=title)
    table.add_column("score")
    table.add_column("video", no_wrap=True)
    for col in ("mob", "hashtags", "title"):
        table.add_column(col)
    for hit in result.results:
        v = hit.video
        table.add_row(
            f"{hit.score:.3f}",
            v.video_id,
            v.mob_name or v.mob_id or "–",
            " ".join(f"#{t}" for t in v.hashtags),
            v.title,
        )
    return table


def stats_tables(stats: VideoStats, usage: UsageReport) -> list[Table]:
    totals = Table(title="videos", show_header=False)
    totals.add_column("", style="bold")
    totals.add_column("")
    totals.add_row("total", str(stats.total_videos))
    for status, count in sorted(stats.by_status.items()):
        totals.add_row(status, str(count))
    totals.add_row("active mobs", str(stats.active_mobs))
    totals.add_row("average score", _score(stats.average_validation_score))
    avg = stats.average_seconds_to_validate
    totals.add_row("average time to validate", "–" if avg is None else f"{avg:.1f} s")
    models = Table(title=f"model usage, last {usage.range}")
    for col in ("model", "invocations", "video seconds", "tokens in/out", "est. cost (USD)"):
        models.add_column(col)
    for m in usage.models:
        models.add_row(
            m.model_id,
            str(m.invocations),
            f"{m.video_seconds:.1f}",
            f"{m.input_tokens}/{m.output_tokens}",
            f"{m.estimated_cost_usd:.4f}",
        )
    return [totals, models]


def cluster_table(report: ClusteringReport) -> Table:
    table = Table(title="re-clustering", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("videos", str(report.videos))
    table.add_row("mobs", str(report.mobs))
    table.add_row("kept", str(len(report.kept_mob_ids)))
    table.add_row("new", str(len(report.new_mob_ids)))
    table.add_row("removed", str(len(report.removed_mob_ids)))
    table.add_row("iterations", str(report.iterations))
    return table
