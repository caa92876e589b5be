"""The ``milkmobs`` command: serve, demo, submit, status, videos, feed, delete, mobs, similar, search, cluster, stats.

Bad input ends with a one-line reason on stderr and a non-zero exit (2 for what the caller got
wrong, 1 for everything else); ``--json`` prints one JSON document for scripts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from milkmobs import __version__
from milkmobs.domain import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, InvalidInputError, MilkmobsError, NotFoundError
from milkmobs.domain.text import visible_controls
from milkmobs.domain.video import VideoStatus
from milkmobs.settings import DEFAULT_SERVE_PORT

if TYPE_CHECKING:
    from milkmobs.settings import Settings

BACKENDS = ("local", "memory", "aws")


def _common(defaults: bool) -> argparse.ArgumentParser:
    # Shared by the top-level parser (real defaults) and every sub-command (SUPPRESS, so an option
    # given after the sub-command overrides one given before it, and omitting it changes nothing).
    parser = argparse.ArgumentParser(add_help=False)
    unset = None if defaults else argparse.SUPPRESS
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=unset,
        help="where data lives (default: MILKMOBS_BACKEND, .env or milkmobs.toml, else local)",
    )
    parser.add_argument("--data-dir", type=Path, default=unset, help="data directory of the local backend")
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="print JSON for scripts instead of tables",
    )
    return parser


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=DEFAULT_PAGE_SIZE, help=f"videos per page (1-{MAX_PAGE_SIZE})")
    parser.add_argument("--cursor", default=None, help="the page after the one that printed this cursor")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(
        prog="milkmobs",
        parents=[_common(True)],
        description="Campaign videos → feed and mobs. See `milkmobs <command> -h`.",
    )
    parser.add_argument("--version", action="version", version=f"milkmobs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    common = [_common(False)]

    serve = sub.add_parser("serve", parents=common, help="run the HTTP API and uploads locally")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_SERVE_PORT, help="0 picks a free port")
    serve.add_argument("--threads", type=int, default=4, help="request threads per worker process")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="HTTP worker processes (default: $MILKMOBS_HTTP__WORKERS, else one per core, at least 2)",
    )

    demo = sub.add_parser("demo", parents=common, help="analyse a bundled set of videos end to end")
    demo.add_argument(
        "--videos", "--videos-dir", dest="videos_dir", type=Path, default=None, help="use these .mp4 files instead"
    )
    demo.add_argument("--reset", action="store_true", help="forget the videos earlier runs analysed and start over")

    submit = sub.add_parser("submit", parents=common, help="submit and analyse .mp4 files (a folder: all of its)")
    submit.add_argument("files", nargs="+", type=Path, metavar="FILE_OR_DIR")
    submit.add_argument("--hashtags", nargs="*", default=[], metavar="TAG")
    submit.add_argument("--user", default=os.environ.get("USER") or "cli-user", help="the submitting user id")
    submit.add_argument("--title", default=None, help="title (default: the file name)")

    status = sub.add_parser("status", parents=common, help="a video's status, scores and pipeline steps")
    status.add_argument("video_id", metavar="VIDEO_ID")

    videos = sub.add_parser("videos", parents=common, help="list videos, newest first (by user, by status)")
    videos.add_argument("--user", default=None, help="only this user's videos")
    videos.add_argument("--status", choices=[s.value for s in VideoStatus], default=None, help="only in this status")
    _paging(videos)

    feed = sub.add_parser("feed", parents=common, help="the feed: validated videos, newest first")
    feed.add_argument("--mob", default=None, metavar="MOB_ID", help="only this mob's videos")
    _paging(feed)

    delete = sub.add_parser("delete", parents=common, help="delete a video (record, media, vector, mob count)")
    delete.add_argument("video_id", metavar="VIDEO_ID")

    sub.add_parser("mobs", parents=common, help="list the mobs")

    similar = sub.add_parser("similar", parents=common, help="videos similar to a video")
    similar.add_argument("video_id", metavar="VIDEO_ID")
    similar.add_argument("--limit", type=int, default=10)

    search = sub.add_parser("search", parents=common, help="videos matching a text")
    search.add_argument("text", metavar="TEXT")
    search.add_argument("--limit", type=int, default=10)

    sub.add_parser("cluster", parents=common, help="re-cluster every validated video now")
    stats = sub.add_parser("stats", parents=common, help="totals and model usage")
    stats.add_argument("--range", dest="range_name", default="24h", choices=("1h", "24h", "7d", "30d"))
    sub.add_parser("check-aws", parents=common, help="check the Bedrock contracts for real (after a deploy)")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, ``.env`` and ``milkmobs.toml``, overridden by ``--backend`` / ``--data-dir``."""
    from milkmobs.settings import Backend, load_settings

    settings = load_settings()
    # The library's default backend is memory; the command's is local, unless a source chose one.
    backend = args.backend or (settings.backend if "backend" in settings.model_fields_set else Backend.LOCAL)
    updates: dict[str, object] = {"backend": Backend(backend)}
    if args.data_dir is not None:
        updates["local"] = settings.local.model_copy(update={"data_dir": args.data_dir.expanduser()})
    return settings.model_copy(update=updates)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check-aws":
            from milkmobs.cli import check_aws

            return check_aws.command(args, settings_from(args))
        from milkmobs.cli import commands

        return commands.run(args, settings_from(args))
    except (InvalidInputError, NotFoundError) as exc:
        print(f"milkmobs: {visible_controls(exc.message)}", file=sys.stderr)
        return 2
    except MilkmobsError as exc:
        print(f"milkmobs: {visible_controls(exc.message)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("milkmobs: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
