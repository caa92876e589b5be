"""Local pipeline throughput on the demo corpus: seconds per video, by stage.

Run: ``.venv/bin/python benchmarks/pipeline_local.py`` (``--seconds`` for longer clips).

Three measurements in the same run, on the same 16 generated clips:

1. the LocalAnalyzer's own stages, called directly (probe, frame decode, visual descriptor, audio
   decode + descriptor, OCR, thumbnail);
2. the whole pipeline on the local backend (SQLite, media folder, persisted index, in-process
   workflow), per workflow step from the execution history, and wall time per video from submit to
   a terminal status;
3. the peer: the same clips through the in-memory backend with the fake analyzer, i.e. the
   pipeline's own overhead without any media work. The ratio says what real media analysis costs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from milkmobs.adapters.local import descriptors as desc
from milkmobs.adapters.local.analyzer import ocr_frame_indices
from milkmobs.adapters.local.media import frame_size_for, probe_file, read_audio, read_frames, thumbnail_jpeg
from milkmobs.adapters.local.ocr import shared_reader
from milkmobs.bootstrap import build
from milkmobs.demo import CORPUS_QUERY, run_demo_pipeline
from milkmobs.demo.corpus import generate_corpus
from milkmobs.demo.runner import Clip, run_clips, step_seconds
from milkmobs.settings import Backend, Settings

T = TypeVar("T")


def timed(sink: dict[str, list[float]], name: str, call: Callable[[], T]) -> T:
    started = time.perf_counter()
    value = call()
    sink.setdefault(name, []).append(time.perf_counter() - started)
    return value


def analyzer_stages(clips: list[Clip]) -> dict[str, list[float]]:
    """The analyzer's work, stage by stage, as the LocalAnalyzer does it."""
    stages: dict[str, list[float]] = {}
    for clip in clips:
        _clip_stages(clip.path, stages)
    return stages


def _clip_stages(path: Path, stages: dict[str, list[float]]) -> None:
    info = timed(stages, "probe (PyAV)", lambda: probe_file(path, label=path.name))
    count = max(4, min(24, round(info.duration_seconds)))
    size = frame_size_for(info, max_width=640)
    frames = timed(
        stages,
        "decode frames (ffmpeg pipe)",
        lambda: read_frames(path, count=count, duration=info.duration_seconds, size=size, label=path.name),
    )
    timed(stages, "visual descriptor", lambda: desc.visual_descriptor(frames))
    if info.has_audio:
        samples = timed(
            stages, "audio decode", lambda: read_audio(path, sample_rate=desc.AUDIO_SAMPLE_RATE, label=path.name)
        )
        timed(stages, "audio descriptor", lambda: desc.audio_descriptor(samples))
    picks = ocr_frame_indices(len(frames), info.duration_seconds)
    timed(stages, "OCR (RapidOCR)", lambda: shared_reader().read_frames(frames[picks], [0.0] * len(picks)))
    timed(stages, "thumbnail (ffmpeg)", lambda: thumbnail_jpeg(path, info, label=path.name))


def memory_peer(clips: list[Clip]) -> tuple[float, dict[str, list[float]]]:
    """Wall seconds per video and per-step seconds on the in-memory backend with the fake analyzer."""
    with build(Settings(backend=Backend.MEMORY)) as app:
        started = time.perf_counter()
        outcomes = run_clips(app, clips)
        wall = (time.perf_counter() - started) / len(clips)
    return wall, step_seconds(outcomes)


def _row(name: str, values: list[float], peer: list[float] | None = None) -> str:
    mean = statistics.fmean(values) if values else 0.0
    text = f"  {name:<30} {mean:8.3f} s/video  (max {max(values, default=0.0):.3f})"
    if peer:
        peer_mean = statistics.fmean(peer)
        text += f"   memory+fake {peer_mean:.4f} s  ratio {mean / peer_mean:,.0f}x" if peer_mean > 0 else ""
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each generated clip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="milkmobs-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        corpus = generate_corpus(root / "clips", seconds=args.seconds)
        generate = (time.perf_counter() - started) / len(corpus)
        clips = [Clip.from_corpus(v) for v in corpus]
        shared_reader().read_frames(
            read_frames(clips[0].path, count=1, duration=1.0, size=(160, 90), label="warm-up"), [0.0]
        )  # load the OCR models once
        print(f"demo corpus: {len(clips)} clips of {args.seconds:.1f}s, generated at {generate:.3f} s/video")

        stages = analyzer_stages(clips)
        total = sum(statistics.fmean(v) for v in stages.values())
        print("\n1. LocalAnalyzer stages, called directly (audio: the clips that have a track)")
        for name, values in stages.items():
            print(_row(name, values))
        print(f"  {'sum':<30} {total:8.3f} s/video")

        result = run_demo_pipeline(root / "data", clips, query_text=CORPUS_QUERY)
        local_wall = statistics.fmean(o.seconds for o in result.outcomes)
        peer_wall, peer_steps = memory_peer(clips)
        print("\n2. Pipeline on the local backend, per workflow step (describe and embed run in parallel)")
        for name, values in step_seconds(result.outcomes).items():
            print(_row(name, values, peer_steps.get(name)))
        print(f"  {'submit → terminal status':<30} {local_wall:8.3f} s/video")
        print(f"\n3. Peer: memory backend + fake analyzer, submit → terminal: {peer_wall:.4f} s/video")
        print(
            f"   local / peer = {local_wall / peer_wall:,.0f}x; local throughput {3600 / local_wall:,.0f} videos/hour "
            f"per worker ({args.seconds:.1f}s clips)"
        )


if __name__ == "__main__":
    main()
