"""``milkmobs demo``: the whole product on a fresh machine, against real video files.

It makes a small themed corpus with ffmpeg (or takes a folder of your own ``.mp4`` files), submits
every clip through the local backend's upload path, runs the pipeline, and prints each video's
status, validation score and mob, the mobs, a similar-video query and a text query. A PNG of the
mobs (2-D PCA of the embeddings, coloured by mob) is written into the data directory.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from milkmobs.demo.corpus import generate_corpus
from milkmobs.demo.plot import PlotPoint, draw_mobs
from milkmobs.demo.report import print_json, print_report
from milkmobs.demo.runner import Clip, ClipOutcome, DemoResult, forget_demo_videos, query, run_clips
from milkmobs.domain import MilkmobsError, VideoStatus
from milkmobs.extras import require_extra
from milkmobs.settings import Backend, Settings

__all__ = ["Clip", "DemoResult", "demo_clips", "run_demo", "run_demo_pipeline"]

CORPUS_DIR = "demo-videos"
PLOT_FILE = "demo-mobs.png"
CORPUS_QUERY = "sunset beach"
USER_QUERY = "got milk"


def demo_clips(data_dir: Path, videos_dir: Path | None) -> list[Clip]:
    """The user's ``.mp4`` files (sorted by name), or a freshly generated corpus under ``data_dir``."""
    if videos_dir is not None:
        if not videos_dir.is_dir():
            raise MilkmobsError(f"{videos_dir} is not a folder of videos")
        files = sorted(p for p in videos_dir.iterdir() if p.suffix.lower() == ".mp4" and p.is_file())
        if not files:
            raise MilkmobsError(f"no .mp4 files in {videos_dir}")
        return [Clip.from_file(p) for p in files]
    return [Clip.from_corpus(v) for v in generate_corpus(data_dir / CORPUS_DIR)]


def run_demo_pipeline(
    data_dir: Path, clips: list[Clip], *, query_text: str, console: Console | None = None, reset: bool = False
) -> DemoResult:
    """Build the local backend in ``data_dir``, push ``clips`` through it, query, draw the picture.

    Clips an earlier run analysed are recognised by their content and kept; ``reset`` first deletes
    every video the demo submitted before, so all are analysed again.
    """
    from milkmobs.bootstrap import build

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with build(Settings(backend=Backend.LOCAL, local={"data_dir": data_dir})) as app:
        timings["build"] = time.perf_counter() - started
        forgotten = forget_demo_videos(app) if reset else 0
        with _progress(console) as progress:
            task = progress.add_task("analysing", total=len(clips))

            def advance(outcome: ClipOutcome) -> None:
                progress.update(task, advance=1, description=f"{outcome.clip.path.name}: {outcome.status}")

            t = time.perf_counter()
            outcomes = run_clips(app, clips, on_done=advance)
            timings["pipeline"] = time.perf_counter() - t
        t = time.perf_counter()
        similar, search = query(app, outcomes, query_text)
        mobs = app.list_mobs()
        points = []
        for o in outcomes:
            vector = app.ports.index.get_vector(o.video_id) if o.video_id else None
            if vector is not None and o.view is not None:
                in_mob = o.view.mob_id if o.view.status is VideoStatus.VALIDATED else None
                thumbnail = app.ports.media.get(o.view.thumbnail_key) if o.view.thumbnail_key else None
                points.append(PlotPoint(o.clip.path.stem, vector, in_mob, thumbnail))
        plot = draw_mobs(points, {m.mob_id: f"{m.name} ({m.video_count})" for m in mobs}, data_dir / PLOT_FILE)
        timings["queries"] = time.perf_counter() - t
    return DemoResult(data_dir, outcomes, mobs, similar, query_text, search, plot, timings, reset_videos=forgotten)


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=console is None,
        transient=False,
    )


def run_demo(data_dir: Path | None, videos_dir: Path | None, json_output: bool, reset: bool = False) -> int:
    """The ``milkmobs demo`` command. ``data_dir`` None: ``MILKMOBS_LOCAL__DATA_DIR`` or ``~/.milkmobs``.
    ``reset``: forget the videos earlier runs submitted and analyse every clip again.

    Returns 0 when the pipeline ran (failed videos are reported, not fatal), 1 when it could not.
    """
    console = Console(stderr=json_output)
    target = (data_dir or Settings().local.data_dir).expanduser()
    try:
        require_extra("media", needed_by="the demo")  # ffmpeg makes the clips, the local backend reads them
        started = time.perf_counter()
        with console.status("making the demo videos with ffmpeg…") if videos_dir is None else _nothing():
            clips = demo_clips(target, videos_dir)
        generated = time.perf_counter() - started
        query_text = USER_QUERY if videos_dir else CORPUS_QUERY
        result = run_demo_pipeline(target, clips, query_text=query_text, console=console, reset=reset)
        result.timings = {"videos": generated, **result.timings}
    except MilkmobsError as exc:
        print(f"milkmobs demo: {exc.message}", file=sys.stderr)  # one line, never wrapped: scripts read it
        return 1
    if json_output:
        print_json(result)
    else:
        print_report(result, console)
    sys.stdout.flush()
    return 0


class _nothing:
    """A do-nothing context manager (no spinner when there is nothing to generate)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
