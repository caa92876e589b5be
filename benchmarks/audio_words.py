"""Precision and recall of the local analyzer's "product mentioned" (words heard in the soundtrack).

On the labelled set of ``tests/speech_support.py``: generated speech with and without "milk"
(espeak-ng), music-like chords and melodies, silence and noise, each muxed into an mp4. Every clip
goes through ``LocalAnalyzer.describe_video``, as an upload would. A naive peer is measured on the
same clips: keyword spotting alone (no confidence floor, no speech gate). Goal: both ≥ 0.9.

    python benchmarks/audio_words.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.speech_support import espeak_available, labelled_set, mux_mp4

from milkmobs.adapters.local.analyzer import LocalAnalyzer
from milkmobs.adapters.local.speech import SpeechSpotter, SpeechTuning
from milkmobs.domain import Campaign, Video

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def score(predicted: list[bool], truth: list[bool]) -> tuple[float, float]:
    tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
    fp = sum(p and not t for p, t in zip(predicted, truth, strict=True))
    fn = sum(t and not p for p, t in zip(predicted, truth, strict=True))
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def main() -> None:
    if not espeak_available():
        sys.exit("espeak-ng is needed to make the speech clips: apt-get install espeak-ng")
    clips = labelled_set()
    naive = SpeechTuning(min_confidence=0.0, min_phone_rate=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for clip in clips:
            mux_mp4(clip.make(), root / f"vid_{clip.name}.mp4")
        runs: dict[str, list[bool]] = {}
        seconds: dict[str, float] = {}
        for name, spotter in (("gated", SpeechSpotter()), ("keyword only", SpeechSpotter(naive))):
            analyzer = LocalAnalyzer(lambda key: root / key, speech=spotter)
            started = time.perf_counter()
            said = []
            for clip in clips:
                video = Video(
                    video_id=f"vid_{clip.name}", user_id="u", media_key=f"vid_{clip.name}.mp4",
                    created_at=NOW, updated_at=NOW,
                )  # fmt: skip
                said.append(bool(analyzer.describe_video(video, Campaign()).value.product_mentioned))
            seconds[name] = time.perf_counter() - started
            runs[name] = said
    truth = [c.says_milk for c in clips]
    kinds = sorted({c.kind for c in clips})
    print(f"labelled clips: {len(clips)} ({', '.join(f'{k} {sum(c.kind == k for c in clips)}' for k in kinds)})")
    for name, said in runs.items():
        precision, recall = score(said, truth)
        wrong = [c.name for c, s in zip(clips, said, strict=True) if s != c.says_milk]
        print(
            f"{name:13} precision {precision:.2f}  recall {recall:.2f}  ({seconds[name]:.1f}s)  "
            f"wrong: {', '.join(wrong) or 'none'}"
        )
    gated, peer = (score(runs[n], truth) for n in ("gated", "keyword only"))
    print(f"precision ratio gated / keyword only: {gated[0] / peer[0] if peer[0] else float('inf'):.2f}")


if __name__ == "__main__":
    main()
