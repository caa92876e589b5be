"""Readable terminal output (rich tables) and the ``--json`` form for scripts.

Stored text reaches the operator's terminal only through :func:`terminal_text`: control and bidi
characters are shown as visible ``\\u001b``-style escapes (a title can never clear the screen or
reorder a line) and rich markup in it is shown, not interpreted. JSON output escapes them itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from milkmobs.core.views import ClusteringReport, SimilarVideos, VideoView
from milkmobs.domain import ExecutionRecord, Mob, UsageReport, VideoStats
from milkmobs.domain.base import DomainModel
from milkmobs.domain.text import visible_controls


def terminal_text(text: str) -> str:
    """``text`` safe to print: control/bidi characters as visible escapes, rich markup escaped."""
    return escape(visible_controls(text))


class SafeConsole(Console):
    """A rich console that prints strings through :func:`terminal_text` (tables escape their own cells)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(terminal_text(item) if isinstance(item, str) else item for item in objects), **kwargs)


class SafeTable(Table):
    """A rich table whose title and string cells always go through :func:`terminal_text`."""

    def __init__(self, *args: Any, title: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, title=terminal_text(title) if title is not None else None, **kwargs)

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        cells = [terminal_text(cell) if isinstance(cell, str) else cell for cell in renderables]
        super().add_row(*cells, **kwargs)


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


#: Characters of an id shown in tables; commands accept any unique prefix this long or longer.
SHORT_ID = 8


def short_id(value: str | None) -> str:
    return "–" if not value else value[:SHORT_ID]


def _tags(tags: Sequence[str]) -> str:
    return " ".join(f"#{t}" for t in tags)


def _one_line(table: Table, name: str, *, shrinks: bool = False, **options: Any) -> None:
    """A column whose cells stay on one line. ``shrinks``: it gives up width first when the terminal is
    narrow (its cells then end in …); the others keep theirs (ids, statuses, scores)."""
    table.add_column(name, no_wrap=not shrinks, **options)


def _cell(value: str) -> Text:
    # Text is never read as markup; its controls are made visible like every other cell's.
    return Text(visible_controls(value), no_wrap=True, overflow="ellipsis")


def video_table(videos: Sequence[VideoView], title: str = "videos") -> Table:
    table = SafeTable(title=title, title_justify="left")
    _one_line(table, "title", shrinks=True, max_width=48)
    _one_line(table, "id")  # what users copy into the next command
    _one_line(table, "status")
    _one_line(table, "score", justify="right")
    _one_line(table, "mob", shrinks=True, max_width=24)
    _one_line(table, "hashtags", shrinks=True, max_width=24)
    for v in videos:
        table.add_row(
            _cell(v.title or "–"),
            short_id(v.video_id),
            v.status.value,
            _score(v.validation.score if v.validation else None),
            _cell(v.mob_name or short_id(v.mob_id)),
            _cell(_tags(v.hashtags)),
        )
    return table


def show_video(console: Console, video: VideoView, executions: Sequence[ExecutionRecord]) -> None:
    table = SafeTable(title=f"video {video.video_id}", show_header=False)
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
        steps = SafeTable(title=f"execution {execution.execution_id} · {execution.status.value}")
        for col in ("step", "status", "attempts", "error"):
            steps.add_column(col)
        for step in execution.steps:
            steps.add_row(step.name, step.status.value, str(step.attempts), step.error or "")
        console.print(steps)


def mob_table(mobs: Sequence[Mob]) -> Table:
    table = SafeTable(title="mobs", title_justify="left")
    _one_line(table, "name", shrinks=True, max_width=48)
    _one_line(table, "id")
    _one_line(table, "videos", justify="right")
    _one_line(table, "hashtags", shrinks=True, max_width=24)
    for m in mobs:
        table.add_row(_cell(m.name), short_id(m.mob_id), str(m.video_count), _cell(_tags(m.example_hashtags)))
    return table


def similar_table(result: SimilarVideos, title: str) -> Table:
    table = SafeTable(title=title, title_justify="left")
    _one_line(table, "title", shrinks=True, max_width=48)
    _one_line(table, "id")
    _one_line(table, "score", justify="right")
    _one_line(table, "mob", shrinks=True, max_width=24)
    _one_line(table, "hashtags", shrinks=True, max_width=24)
    for hit in result.results:
        v = hit.video
        mob = v.mob_name or short_id(v.mob_id)
        name, tags = _cell(v.title or "–"), _cell(_tags(v.hashtags))
        table.add_row(name, short_id(v.video_id), f"{hit.score:.3f}", _cell(mob), tags)
    return table


def stats_tables(stats: VideoStats, usage: UsageReport) -> list[Table]:
    totals = SafeTable(title="videos", show_header=False)
    totals.add_column("", style="bold")
    totals.add_column("")
    totals.add_row("total", str(stats.total_videos))
    for status, count in sorted(stats.by_status.items()):
        totals.add_row(status, str(count))
    totals.add_row("active mobs", str(stats.active_mobs))
    totals.add_row("average score", _score(stats.average_validation_score))
    avg = stats.average_seconds_to_validate
    totals.add_row("average time to validate", "–" if avg is None else f"{avg:.1f} s")
    models = SafeTable(title=f"model usage, last {usage.range}")
    models.add_column("model", no_wrap=True)  # whole: the ids are what tells the rows apart
    for col in ("invocations", "video seconds", "tokens in/out", "est. cost (USD)"):
        models.add_column(col)
    for m in usage.models:
        models.add_row(
            m.model_id,
            str(m.invocations),
            f"{m.video_seconds:.1f}",
            f"{m.input_tokens}/{m.output_tokens}",
            _usd(m.estimated_cost_usd),
        )
    return [totals, models]


#: A model with no price (only the Bedrock model ids have one): its cost is unknown, not zero.
NOT_PRICED = "not priced"


def _usd(cost: float | None) -> str:
    return NOT_PRICED if cost is None else f"{cost:.4f}"


def cluster_table(report: ClusteringReport) -> Table:
    table = SafeTable(title="re-clustering", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("videos", str(report.videos))
    table.add_row("mobs", str(report.mobs))
    table.add_row("kept", str(len(report.kept_mob_ids)))
    table.add_row("new", str(len(report.new_mob_ids)))
    table.add_row("removed", str(len(report.removed_mob_ids)))
    table.add_row("iterations", str(report.iterations))
    return table
