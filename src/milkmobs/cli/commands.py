"""What each sub-command does: build the application, call the core, render the answer."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from milkmobs.api.models import DeletedVideo, VideoList
from milkmobs.cli import lookup, render
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest, VideoView
from milkmobs.domain import InvalidInputError, Page, VideoStatus
from milkmobs.settings import Settings


def _console(stderr: bool = False) -> Console:
    # Made per command, not at import: rich reads the terminal width (and COLUMNS) when created.
    return render.SafeConsole(stderr=stderr)


def _build(settings: Settings) -> MilkMobs:
    from milkmobs.server.serve import build_application

    return build_application(settings, background=False)


def _videos_in(paths: list[Path]) -> list[Path]:
    """The files given, a folder standing for every ``.mp4`` directly in it (by name)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".mp4")
            if not found:
                raise InvalidInputError(f"{path}: no .mp4 files in this folder")
            files.extend(found)
        elif not path.is_file():
            raise InvalidInputError(f"{path}: no such file or folder")
        elif path.suffix.lower() != ".mp4":
            raise InvalidInputError(f"{path}: only .mp4 files can be submitted")
        else:
            files.append(path)
    return files


def submit(args: argparse.Namespace, settings: Settings) -> int:
    files = _videos_in(list(args.files))
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
        video = app.get_video(lookup.video_id(app, args.video_id))
        executions = app.execution_history(video.video_id)
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
    elif not found:
        _console().print("no mobs yet: mobs form as validated videos arrive")
    else:
        _console().print(render.mob_table(found))
    return 0


def _print_page(args: argparse.Namespace, page: Page[VideoView], title: str, empty: str) -> None:
    if args.json:
        render.print_json(VideoList(videos=page.items, next_cursor=page.next_cursor))
        return
    console = _console()
    if not page.items:
        console.print(empty)
        return
    console.print(render.video_table(page.items, title=title))
    if page.next_cursor is not None:
        console.print(f"more: add --cursor {page.next_cursor}", soft_wrap=True)


def videos(args: argparse.Namespace, settings: Settings) -> int:
    status = VideoStatus(args.status) if args.status else None
    with _build(settings) as app:
        if args.user and status is not None:
            page = lookup.filtered_page(app, args.user, status, limit=args.limit, cursor=args.cursor)
        elif args.user:
            page = app.list_user_videos(args.user, limit=args.limit, cursor=args.cursor)
        else:
            page = app.admin_list_videos(status=status, limit=args.limit, cursor=args.cursor)
    which = " ".join(x for x in (args.status, f"of {args.user}" if args.user else "") if x)
    _print_page(args, page, title=f"videos {which}".strip(), empty=f"no videos {which}".strip())
    return 0


def feed(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        mob = lookup.mob_id(app, args.mob) if args.mob else None
        page = app.feed(limit=args.limit, cursor=args.cursor, mob_id=mob)
    where = f" of mob {render.short_id(mob)}" if mob else ""
    _print_page(args, page, title=f"feed{where}", empty=f"no validated videos{where} yet")
    return 0


def delete(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        video = app.delete_video(lookup.video_id(app, args.video_id))
    if args.json:
        render.print_json(DeletedVideo(video_id=video.video_id, video=video))
    else:
        _console().print(f"deleted {video.video_id} ({video.title or 'untitled'})", soft_wrap=True)
    return 0


def similar(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        video_id = lookup.video_id(app, args.video_id)
        result = app.similar_videos(video_id, limit=args.limit)
    if args.json:
        render.print_json(result)
    elif not result.results:
        _console().print(f"no other validated video is similar to {video_id} yet", soft_wrap=True)
    else:
        _console().print(render.similar_table(result, title=f"similar to {render.short_id(video_id)}"))
    return 0


def search(args: argparse.Namespace, settings: Settings) -> int:
    with _build(settings) as app:
        result = app.search_text(args.text, limit=args.limit)
    if args.json:
        render.print_json(result)
    elif not result.results:
        _console().print(f"no validated video matches “{args.text}”", soft_wrap=True)
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
    if args.workers is not None and args.workers < 1:
        raise InvalidInputError(f"--workers must be at least 1, got {args.workers}", field="workers")
    return run_server(
        settings, ServeOptions(host=args.host, port=args.port, threads=args.threads, workers=args.workers)
    )


def demo(args: argparse.Namespace, settings: Settings) -> int:
    from milkmobs.demo import run_demo  # written by the local backend; imported only when asked for

    data_dir = args.data_dir.expanduser() if getattr(args, "data_dir", None) else None
    code: int = run_demo(data_dir, args.videos_dir, args.json, reset=args.reset)
    return code


COMMANDS = {
    "serve": serve,
    "demo": demo,
    "submit": submit,
    "status": status,
    "videos": videos,
    "feed": feed,
    "delete": delete,
    "mobs": mobs,
    "similar": similar,
    "search": search,
    "cluster": cluster,
    "stats": stats,
}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch ``args.command``."""
    return COMMANDS[args.command](args, settings)
