"""Precision and recall of the local analyzer's "product mentioned" (words heard in the soundtrack).

Seven labelled sets from ``tests/speech_support.py``, each of generated speech with and without
"milk" (espeak-ng, several voices and speeds, some over music, near-misses like "mill" or "silk"),
music-like chords, melodies and beats, silence and noise, muxed into mp4 files: four *development*
sets, on which thresholds and approaches were chosen (each was once held out, then studied), and a
*held-out* set (sentences, espeak-ng voice variants, speeds and seeds used in no development set and
in no training of the phone model), which no choice was made on. The sixth set, the *flite set*, has
the same kinds of clips spoken by another synthesizer, flite (its 5 English voices, 3 of them built
from real speakers; the phone model's training used three of them, kal, awb and kal16, so it is a
development set too; made only where ``flite`` is installed), and a seventh, the *held-out flite
set*, has only flite's voices slt and rms, which no training ever used, and sentences of its own.
The eighth, the *festival set*, is spoken by a third synthesizer, festival, which no training and no
tuning here ever used, with two voices of real speakers (ked, a diphone voice; slt_hts, an HTS
voice), made only where festival and both voices are installed. Every clip goes through
``LocalAnalyzer.describe_video``, as an upload would. Peers on the same clips: the phone model
(``phones.py``) with and without its voice gate, the pocketsphinx keyword spotter with its voice
gate and phone check, without the phone check, and alone, and the experimental word model
(``word_spotter.py``, not shipped) with and without its voice gate. Goal: both ≥ 0.9 on every set.

    python benchmarks/audio_words.py [--sets 1 2 3 4 5 6 7 8] [--peers "phone model" ...]
        [--phone-model candidate.onnx] [--min-score-per-phone -0.5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from benchmarks.word_spotter import WordModelSpotter
from tests.speech_support import (
    LabelledClip,
    development_set,
    espeak_available,
    festival_available,
    festival_set,
    flite_available,
    flite_held_out_set,
    flite_set,
    held_out_set,
    mux_mp4,
    second_development_set,
    second_held_out_set,
    third_development_set,
)

from milkmobs.adapters.local.analyzer import LocalAnalyzer
from milkmobs.adapters.local.phones import PhoneModel
from milkmobs.adapters.local.speech import PhoneSpotter, PhoneTuning, SpeechSpotter, SpeechTuning, WordListener
from milkmobs.domain import Campaign, Video

NOW = datetime(2026, 1, 1, tzinfo=UTC)


FLITE_TITLE = "flite set (another synthesizer; the phone model trained on its voices kal, awb and kal16)"
FLITE_HELD_TITLE = "held-out flite set (voices slt and rms, another synthesizer, kept out of any training)"
FESTIVAL_TITLE = "festival set (a third synthesizer, voices ked and slt_hts, kept out of any training and tuning)"
NO_PHONE_CHECK = 1.0  # edits per phone: every run of phones is close enough
PHONES = PhoneTuning()  # the phone model's thresholds (--min-score-per-phone changes them)
PHONE_MODEL: list[bytes] = []  # another phone model than the shipped one (--phone-model), if any


def _phone_spotter(min_speech_probability: float) -> PhoneSpotter:
    tuning = PhoneTuning(PHONES.min_score_per_phone, min_speech_probability)
    return PhoneSpotter(tuning, model=PhoneModel(PHONE_MODEL[0]) if PHONE_MODEL else None)


SPOTTERS: dict[str, Callable[[], WordListener]] = {
    "phone model": lambda: _phone_spotter(PHONES.min_speech_probability),
    "phones, no gate": lambda: _phone_spotter(0.0),
    "keyword+phones": lambda: SpeechSpotter(SpeechTuning()),
    "no phone check": lambda: SpeechSpotter(SpeechTuning(max_phone_distance=NO_PHONE_CHECK)),
    "keyword only": lambda: SpeechSpotter(SpeechTuning(min_speech_probability=0.0, max_phone_distance=NO_PHONE_CHECK)),
    "word model": lambda: WordModelSpotter(),
    "word, no gate": lambda: WordModelSpotter(min_run_speech_probability=0.0),
}


def score(predicted: list[bool], truth: list[bool]) -> tuple[float, float]:
    tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
    fp = sum(p and not t for p, t in zip(predicted, truth, strict=True))
    fn = sum(t and not p for p, t in zip(predicted, truth, strict=True))
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def heard(root: Path, clips: list[LabelledClip], spotter: WordListener) -> list[bool]:
    analyzer = LocalAnalyzer(lambda key: root / key, speech=spotter)
    said = []
    for clip in clips:
        video = Video(
            video_id=f"vid_{clip.name}", user_id="u", media_key=f"vid_{clip.name}.mp4", created_at=NOW, updated_at=NOW
        )
        said.append(bool(analyzer.describe_video(video, Campaign()).value.product_mentioned))
    return said


def report(title: str, root: Path, clips: list[LabelledClip], peers: list[str]) -> None:
    kinds = sorted({c.kind for c in clips})
    print(f"{title}: {len(clips)} clips ({', '.join(f'{k} {sum(c.kind == k for c in clips)}' for k in kinds)})")
    truth = [c.says_milk for c in clips]
    for name in peers:
        spotter = SPOTTERS[name]()
        spotter.spoken(np.zeros(16_000, np.float32), ["milk"])  # load the models outside the timing
        started = time.perf_counter()
        said = heard(root, clips, spotter)
        seconds = time.perf_counter() - started
        precision, recall = score(said, truth)
        wrong = [c.name for c, s in zip(clips, said, strict=True) if s != c.says_milk]
        print(
            f"  {name:15} precision {precision:.2f}  recall {recall:.2f}  ({seconds:.1f}s)  "
            f"wrong: {', '.join(wrong) or 'none'}"
        )


def main() -> None:
    if not espeak_available():
        sys.exit("espeak-ng is needed to make the speech clips: apt-get install espeak-ng")
    makers = {
        "development set": development_set,
        "second development set": second_development_set,
        "third development set": third_development_set,
        "fourth development set (the first held-out set)": held_out_set,
        "held-out set": second_held_out_set,
        FLITE_TITLE: flite_set,
        FLITE_HELD_TITLE: flite_held_out_set,
        FESTIVAL_TITLE: festival_set,
    }
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", type=int, choices=range(1, len(makers) + 1),
                        help="which sets, by number in the order above (all by default)")  # fmt: skip
    parser.add_argument("--peers", nargs="+", choices=list(SPOTTERS), default=list(SPOTTERS))
    parser.add_argument("--phone-model", type=Path, help="a phone model to measure instead of the shipped one")
    parser.add_argument("--min-score-per-phone", type=float, help="the phone model's threshold instead of its default")
    args = parser.parse_args()
    global PHONES
    if args.min_score_per_phone is not None:
        PHONES = PhoneTuning(min_score_per_phone=args.min_score_per_phone)
    if args.phone_model:
        PHONE_MODEL.append(args.phone_model.read_bytes())
    if args.phone_model or args.min_score_per_phone is not None:
        print(f"phone model: {args.phone_model or 'shipped'}, min score per phone {PHONES.min_score_per_phone}")
    chosen = [t for k, t in enumerate(makers, 1) if not args.sets or k in args.sets]
    for title in (FLITE_TITLE, FLITE_HELD_TITLE):
        if title in chosen and not flite_available():
            print(f"skipped the {title}: flite is needed to make its clips (apt-get install flite)")
            chosen.remove(title)
    if FESTIVAL_TITLE in chosen and not festival_available():
        print(
            f"skipped the {FESTIVAL_TITLE}: festival and its voices are needed to make its clips "
            "(apt-get install festival festvox-kdlpc16k festvox-us-slt-hts)"
        )
        chosen.remove(FESTIVAL_TITLE)
    sets = {title: makers[title]() for title in chosen}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for clips in sets.values():
            for clip in clips:
                mux_mp4(clip.make(), root / f"vid_{clip.name}.mp4")
        for title, clips in sets.items():
            report(title, root, clips, args.peers)


if __name__ == "__main__":
    main()
