"""What each sub-command does: build the application, call the core, render the answer."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from milkmobs.cli import render
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest, VideoView
from milkmobs.domain import InvalidInputError
from milkmobs.settings import Settings


def _console(stderr: bool = False) -> Console:
    # Made per command, not at import: rich reads the terminal width (and COLUMNS) when created.
    return Console(stderr=stderr)


def _build(settings: Settings) -> MilkMobs:
    from milkmobs.server.serve import build_application

    return build_application(settings, background=False)


def _check_files(files: list[Path]) -> None:
    for path in files:
        if not path.is_file():
            raise InvalidInputError(f"{path}: no such file")
        if path.suffix.lower() != ".mp4":
            raise InvalidInputError(f"{path}: only .mp4 files can be submitted")


def submit(args: argparse.Namespace, settings: Settings) -> int:
    files: list[Path] = list(args.files)
    _check_files(files)
    results: list[VideoView] = []
    with (
        _build(settings) as app,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=_console(stderr=True),
            disable=args.json or len(files) < 2,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("analysing", total=len(files))
        for path in files:
            progress.update(task, description=f"analysing {path.name}")
            data = path.read_bytes()
            submission = app.submit_video(
                SubmitRequest(
                    user_id=args.user, title=args.title or path.stem, hashtags=args.hashtags, size_bytes=len(data)
                )
            )
            app.upload_video(submission.video_id, data)  # synchronous pipeline: done when this returns
            results.append(app.get_video(submission.video_id))
            progress.advance(task)
    if args.json:
        render.print_json(results)
    else:
        _console().print(render.video_table(results, title="submitted"))
    return 0 if all(v.status.value != "failed" for v in results) else 1


def status(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        video = app.get_video(args.video_id)
        executions = app.execution_history(args.video_id)
    if args.json:
        render.print_json({**video.to_json_dict(), "executions": [e.to_json_dict() for e in executions]})
    else:
        render.show_video(_console(), video, executions)
    return 0


def mobs(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        found = app.list_mobs()
    if args.json:
        render.print_json({"mobs": [m.to_json_dict() for m in found]})
    else:
        _console().print(render.mob_table(found))
    return 0


def similar(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        result = app.similar_videos(args.video_id, limit=args.limit)
    if args.json:
        render.print_json(result)
    else:
        _console().print(render.similar_table(result, title=f"similar to {args.video_id}"))
    return 0


def search(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        result = app.search_text(args.text, limit=args.limit)
    if args.json:
        render.print_json(result)
    else:
        _console().print(render.similar_table(result, title=f"matching “{args.text}”"))
    return 0


def cluster(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        report = app.recluster()
    if args.json:
        render.print_json(report)
    else:
        _console().print(render.cluster_table(report))
    return 0


def stats(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        totals, usage = app.stats(), app.usage(args.range_name)
    if args.json:
        render.print_json({"stats": totals.to_json_dict(), "usage": usage.to_json_dict()})
    else:
        for table in render.stats_tables(totals, usage):
            _console().print(table)
    return 0


def serve(args: argparse.Namespace, settings: Settings) -> int:
    from milkmobs.extras import require_backend_extra
    from milkmobs.server.serve import ServeOptions
    from milkmobs.server.serve import serve as run_server

    require_backend_extra(settings.backend)  # before the port is bound, not at the first upload

    return run_server(settings, ServeOptions(host=args.host, port=args.port, threads=args.threads))


def demo(args: argparse.Namespace, settings: Settings) -> int:
    from milkmobs.demo import run_demo  # written by the local backend; imported only when asked for

    data_dir = args.data_dir.expanduser() if getattr(args, "data_dir", None) else None
    code: int = run_demo(data_dir, args.videos_dir, args.json)
    return code


COMMANDS = {
    "serve": serve,
    "demo": demo,
    "submit": submit,
    "status": status,
    "mobs": mobs,
    "similar": similar,
    "search": search,
    "cluster": cluster,
    "stats": stats,
}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch ``args.command``."""
    return COMMANDS[args.command](args, settings)
