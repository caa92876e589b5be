"""How the demo shows its results: rich tables, or one JSON document."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from milkmobs.core.views import SimilarVideos
from milkmobs.demo.runner import DemoResult
from milkmobs.domain import ScoreBreakdown
from milkmobs.server.serve import ServeOptions

_STATUS_STYLE = {"validated": "green", "rejected": "yellow", "failed": "red"}


def _score(outcome_score: float | None) -> str:
    return f"{outcome_score:.2f}" if outcome_score is not None else "–"


def print_report(result: DemoResult, console: Console) -> None:
    """Videos, mobs, the two queries and where the picture is."""
    mob_names = {m.mob_id: m.name for m in result.mobs}
    names = {o.video_id: o.clip.path.name for o in result.outcomes if o.video_id is not None}

    videos = Table(title="Videos", title_justify="left")
    for column in ("file", "status", "score", "mob", "breakdown or error"):
        videos.add_column(column, overflow="fold")
    for o in result.outcomes:
        view = o.view
        score = view.validation.score if view and view.validation else None
        mob = mob_names.get(view.mob_id, view.mob_id) if view and view.mob_id else ""
        why = o.error or (_breakdown(view.validation.breakdown) if view and view.validation else "")
        style = _STATUS_STYLE.get(o.status, "")
        videos.add_row(o.clip.path.name, f"[{style}]{o.status}[/]", _score(score), mob or "–", why)
    console.print(videos)
    if result.reset_videos:
        console.print(f"Started over: deleted the {result.reset_videos} videos of earlier demo runs first.")
    if result.recognised:
        console.print(
            f"{result.recognised} of {len(result.outcomes)} clips were analysed by an earlier run (recognised by "
            "their content) and kept, not submitted again; [bold]milkmobs demo --reset[/] starts over."
        )

    mobs = Table(title="Mobs", title_justify="left")
    for column in ("mob", "videos", "hashtags", "description"):
        mobs.add_column(column, overflow="fold")
    for m in result.mobs:
        mobs.add_row(m.name, str(m.video_count), " ".join(f"#{t}" for t in m.example_hashtags), m.description)
    console.print(mobs)

    if result.similar is not None:
        console.print(
            _results_table(f"Similar to {names.get(result.similar.video_id or '', '?')}", result.similar, names)
        )
    if result.search is not None:
        console.print(_results_table(f"Text search: {result.search_query!r}", result.search, names))
        console.print(
            "[dim]Local text search matches on-screen text and hashtags only (the LocalAnalyzer is not a "
            "semantic model), so its scores are small; the ranking is what counts.[/]"
        )
    if result.plot_path is not None:
        console.print(f"Picture of the mobs: [bold]{result.plot_path}[/]")
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    console.print(f"Data directory: [bold]{result.data_dir}[/]  ({timing})")
    console.print(f"Browse it with: milkmobs serve --data-dir {result.data_dir}")
    console.print(f"then open in a browser: [bold]http://127.0.0.1:{ServeOptions().port}/[/]")


def _breakdown(b: ScoreBreakdown) -> str:
    audio = f"{b.audio:.1f}" if b.audio is not None else "n/a"
    return f"visual {b.visual:.1f} · audio {audio} · ocr {b.ocr:.1f} · tags {b.hashtags:.1f}"


def _results_table(title: str, results: SimilarVideos, names: dict[str, str]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("file")
    table.add_column("cosine", justify="right")
    table.add_column("mob")
    for r in results.results:
        table.add_row(names.get(r.video.video_id, r.video.video_id), f"{r.score:.3f}", r.video.mob_name or "–")
    return table


def as_json(result: DemoResult) -> dict[str, Any]:
    """The result as one camelCase JSON-ready document."""
    names = {o.video_id: o.clip.path.name for o in result.outcomes if o.video_id}

    def results(found: SimilarVideos | None) -> list[dict[str, Any]] | None:
        if found is None:
            return None
        return [
            {"videoId": r.video.video_id, "file": names.get(r.video.video_id), "score": r.score} for r in found.results
        ]

    return {
        "dataDir": str(result.data_dir),
        "resetVideos": result.reset_videos,
        "videos": [
            {
                "file": o.clip.path.name,
                "videoId": o.video_id,
                "theme": o.clip.theme,
                "status": o.status,
                "validationScore": o.view.validation.score if o.view and o.view.validation else None,
                "mobId": o.view.mob_id if o.view else None,
                "mobName": o.view.mob_name if o.view else None,
                "error": o.error,
                "recognised": o.recognised,
                "seconds": round(o.seconds, 3),
            }
            for o in result.outcomes
        ],
        "mobs": [m.to_json_dict() for m in result.mobs],
        "similar": {"videoId": result.similar.video_id, "results": results(result.similar)} if result.similar else None,
        "search": {"query": result.search_query, "results": results(result.search)},
        "plot": str(result.plot_path) if result.plot_path else None,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
    }


def print_json(result: DemoResult) -> None:
    print(json.dumps(as_json(result), indent=2, default=str))
