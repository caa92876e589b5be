"""Trains the phone model of the local analyzer's spoken-word search (``milkmobs/data/phones.onnx``).

Everything is generated here, seeded and offline, in two steps:

1. ``data`` (the project's virtualenv: numpy, scipy, pocketsphinx, espeak-ng's library): sentences
   whose words are all in the CMU dictionary that ships with pocketsphinx, spoken by espeak-ng's
   English voices with its voice variants (never a variant, nor a sentence, of the labelled sets in
   ``tests/speech_support.py``) at 110 to 210 words a minute and several pitches, some over tones,
   melodies, beats or noise, and clips of music, noise and silence alone. Each clip's target is the
   concatenated dictionary pronunciation of its words (CTC needs no alignment), an empty one for a
   clip without speech. Features are ``milkmobs.adapters.local.phones.log_mel``: the very function
   the analyzer runs.
2. ``fit`` (a separate virtualenv with torch, numpy and onnx; torch is never a dependency of
   milkmobs): a small convolutional network trained with CTC on one thread for a fixed wall-clock
   budget, exported to ONNX (log-probabilities of the phones and the blank, 50 steps a second).

Sentences: runs of English prose (Python's help topics), word-list sentences of which many say
"milk" and many a word that sounds close to it, and runs of random dictionary words.

    python benchmarks/train_phone_model.py data --out /tmp/phones.npz
    /path/to/torch-venv/bin/python benchmarks/train_phone_model.py fit --data /tmp/phones.npz \
        --out src/milkmobs/data/phones.onnx
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np

SEED = 20261204
REPO = Path(__file__).resolve().parents[1]
VARIANT_DIR = Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v")
BASE_VOICES = [
    "en-us", "en", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
]  # fmt: skip
NO_VOICE = {"whisper", "whisperf"}  # no voiced sound: the voice detector drops it anyway
# A re-recording's pitch and vocal-tract factor (ffmpeg's asetrate moves both): wide enough to turn
# flite's two male speakers into voices pitched and shaped like women's and children's.
PITCH_RANGE = (0.8, 1.35)


def labelled_set_speech() -> tuple[set[str], set[str]]:
    """The sentences (espeak-ng's and flite's) and espeak-ng voice variants of every labelled set
    (``tests/speech_support.py``): training uses none of them. A voice without a variant counts as
    the variant ""."""
    text = (REPO / "tests" / "speech_support.py").read_text()
    specs = re.findall(r'\(\s*"([^"]+)",\s*"([^"]+)",\s*[\d.]+\)', text)
    sentences = {s.lower() for s, _ in specs}
    variants = {voice.partition("+")[2] for _, voice in specs if voice.startswith("en")}
    return sentences, variants


def training_variants(held: set[str]) -> list[str]:
    names = sorted(p.name for p in VARIANT_DIR.iterdir() if " " not in p.name)
    return [v for v in names if v not in held and v not in NO_VOICE]


def dictionary() -> dict[str, list[str]]:
    from pocketsphinx import get_model_path

    words: dict[str, list[str]] = {}
    with open(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict") as lines:
        for line in lines:
            word, *phones = line.split()
            if "(" not in word:  # the first pronunciation of each word
                words[word] = phones
    return words


class Sentences:
    def __init__(self, words: dict[str, list[str]], banned: set[str]) -> None:
        from benchmarks.train_word_model import prose_words, sounds_close

        self.words = words
        self.banned = banned
        self.prose = prose_words()
        self.close = [w for w in sounds_close() if w in words]
        common = [w for w in dict.fromkeys(self.prose) if w != "|" and w in words and len(w) > 1]
        self.common = common
        self.random_words = [w for w in words if re.fullmatch("[a-z]{3,10}", w)]

    def _prose(self, rng: np.random.Generator) -> list[str]:
        while True:
            length = int(rng.integers(2, 11))
            start = int(rng.integers(len(self.prose) - length))
            run = self.prose[start : start + length]
            if "|" not in run:
                return run

    def make(self, rng: np.random.Generator) -> str:
        from benchmarks.train_word_model import (
            MILK_PHRASES,
            NOUNS,
            PLACES,
            SHORT_POSITIVES,
            SUBJECTS,
            VERBS,
            _pick,
        )

        kind = rng.random()
        if kind < 0.3:
            words = self._prose(rng)
            if rng.random() < 0.4:
                extra = _pick(rng, MILK_PHRASES) if rng.random() < 0.5 else _pick(rng, self.close)
                words.insert(int(rng.integers(len(words) + 1)), extra)
            return " ".join(words)
        if kind < 0.4:
            return " ".join(_pick(rng, self.random_words) for _ in range(int(rng.integers(1, 6))))
        if kind < 0.47:
            return _pick(rng, SHORT_POSITIVES) if rng.random() < 0.5 else _pick(rng, self.close)
        which = rng.random()
        if which < 0.4:
            obj = _pick(rng, MILK_PHRASES)
        elif which < 0.75:
            obj = _pick(rng, self.close) if rng.random() < 0.6 else f"the {_pick(rng, self.close)}"
        else:
            obj = _pick(rng, NOUNS)
        shape = rng.random()
        if shape < 0.6:
            parts = [_pick(rng, SUBJECTS), _pick(rng, VERBS), obj, _pick(rng, PLACES)]
        elif shape < 0.8:
            parts = [obj, "is", _pick(rng, ["great", "cold", "on the table", "gone", "here", "the best", "good"])]
        else:
            parts = [_pick(rng, ["can I have", "please pass", "where is", "do you want", "look at"]), obj]
        return " ".join(p for p in parts if p)

    def target(self, sentence: str) -> list[str] | None:
        """The sentence's phones, or None when a word is not in the dictionary or the sentence is one
        of the labelled sets'."""
        words = [w for w in re.findall(r"[a-z']+", sentence.lower())]
        if not words or " ".join(words) in self.banned:
            return None
        phones: list[str] = []
        for w in words:
            if w not in self.words:
                return None
            phones += self.words[w]
        return phones


def flite_say(text: str, voice: str, stretch: float) -> np.ndarray:
    """``text`` spoken by flite's ``voice``, as 16 kHz float32 samples."""
    import subprocess
    import tempfile

    from tests.speech_support import _ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}", "-t", text, "-o", str(out)]
        subprocess.run(cmd, capture_output=True, check=True, timeout=60)
        raw = subprocess.run(
            [_ffmpeg(), "-loglevel", "error", "-i", str(out), "-ar", "16000", "-ac", "1", "-f", "f32le", "-"],
            capture_output=True, check=True, timeout=60,
        ).stdout  # fmt: skip
    return np.frombuffer(raw, "<f4").copy()


def perturb(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The speech under a random recording: pitch and tempo shifted (ffmpeg's asetrate and atempo),
    a band-pass and an equaliser bump or dip, then maybe a room's reverberation (a decaying noise
    impulse response)."""
    import subprocess

    from scipy.signal import fftconvolve
    from tests.speech_support import _ffmpeg

    pitch = float(rng.uniform(*PITCH_RANGE))
    tempo = float(rng.uniform(0.85, 1.15))
    low, high = float(rng.uniform(60, 400)), float(rng.uniform(2800, 7800))
    bump = f"equalizer=f={rng.uniform(300, 4000):.0f}:t=q:w=1:g={rng.uniform(-9, 9):.1f}"
    chain = (
        f"asetrate={16000 * pitch:.0f},aresample=16000,atempo={tempo / pitch:.4f},"
        f"highpass=f={low:.0f},lowpass=f={high:.0f},{bump}"
    )
    raw = subprocess.run(
        [_ffmpeg(), "-loglevel", "error", "-f", "f32le", "-ar", "16000", "-ac", "1", "-i", "-",
         "-af", chain, "-ar", "16000", "-f", "f32le", "-"],
        input=samples.astype("<f4").tobytes(), capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    out = np.frombuffer(raw, "<f4").copy()
    if rng.random() < 0.5:
        rt60 = float(rng.uniform(0.15, 0.8))
        t = np.arange(int(rt60 * 16000)) / 16000
        response = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)
        response[0] = float(rng.uniform(3, 12))  # the direct sound
        out = fftconvolve(out, response)[: out.size + t.size // 2].astype(np.float32)
    return out


def make_data(
    count: int, seed: int, *, flite_voices: tuple[str, ...] = (), flite_share: float = 0.0, perturbed: float = 0.0
) -> dict[str, np.ndarray]:
    from benchmarks.train_word_model import Espeak, _pick, background

    from milkmobs.adapters.local.phones import PHONES, SAMPLE_RATE, log_mel

    sentences_banned, held_variants = labelled_set_speech()
    banned = {" ".join(re.findall(r"[a-z']+", s)) for s in sentences_banned}
    variants = training_variants(held_variants)
    print(f"{len(variants)} training variants; left out: {sorted(held_variants)}", flush=True)
    phone_index = {p: i for i, p in enumerate(PHONES)}
    rng = np.random.default_rng(seed)
    espeak = Espeak()
    sentences = Sentences(dictionary(), banned)
    feats: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    started = time.monotonic()
    while len(feats) < count:
        if len(feats) % 8 == 7:  # music, noise or silence alone
            seconds = float(rng.uniform(1.0, 5.0))
            bed = background(rng, seconds) if rng.random() < 0.85 else np.zeros(int(seconds * SAMPLE_RATE), np.float32)
            samples = bed * float(rng.uniform(0.05, 2.0))
            phones: list[str] = []
        else:
            text = sentences.make(rng)
            target = sentences.target(text)
            if target is None:
                continue
            phones = target
            if flite_voices and rng.random() < flite_share:
                samples = flite_say(text, _pick(rng, list(flite_voices)), float(rng.uniform(0.8, 1.3)))
            else:
                voice = f"{_pick(rng, BASE_VOICES)}+{_pick(rng, variants)}"
                samples, _ = espeak.say(text, voice, int(rng.integers(110, 211)), int(rng.integers(20, 85)))
            if perturbed and rng.random() < perturbed:
                samples = perturb(samples, rng)
            lead = np.zeros(int(rng.uniform(0.05, 0.6) * SAMPLE_RATE), np.float32)
            tail = np.zeros(int(rng.uniform(0.1, 0.5) * SAMPLE_RATE), np.float32)
            samples = np.concatenate([lead, samples, tail])
            if rng.random() < 0.4:
                bed = np.resize(background(rng, samples.size / SAMPLE_RATE + 0.1), samples.shape)
                level = float(rng.choice([0.05, 0.1, 0.2, 0.3, 0.5]))
                samples = samples + level * bed * (np.max(np.abs(samples)) / max(float(np.max(np.abs(bed))), 1e-9))
            if perturbed and rng.random() < perturbed / 2:  # a noisy room or line
                hiss = rng.standard_normal(samples.size)
                if rng.random() < 0.5:
                    hiss = np.cumsum(hiss)
                    hiss -= np.convolve(hiss, np.ones(400) / 400, mode="same")
                snr = 10 ** (float(rng.uniform(5, 30)) / 20)
                samples = samples + hiss * float(np.std(samples)) / (snr * max(float(np.std(hiss)), 1e-9))
            samples = samples * float(rng.uniform(0.05, 1.0)) / max(float(np.max(np.abs(samples))), 1e-9)
        if rng.random() < 0.2:
            samples = samples + rng.standard_normal(samples.size) * float(rng.uniform(1e-4, 3e-3))
        feats.append(log_mel(np.clip(samples, -1, 1).astype(np.float32)).astype(np.float16))
        targets.append(np.array([phone_index[p] for p in phones], np.int16))
        if len(feats) % 1000 == 0:
            print(f"{len(feats)} clips, {time.monotonic() - started:.0f}s", flush=True)
    return {
        "features": np.concatenate(feats),
        "feature_lengths": np.array([f.shape[0] for f in feats], np.int32),
        "targets": np.concatenate(targets),
        "target_lengths": np.array([t.size for t in targets], np.int32),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    data = sub.add_parser("data", help="generate the labelled features")
    data.add_argument("--clips", type=int, default=24000)
    data.add_argument("--out", required=True)
    data.add_argument("--seed", type=int, default=SEED)
    data.add_argument("--flite-voices", nargs="*", default=[], help="flite voices to speak some clips")
    data.add_argument("--flite-share", type=float, default=0.0, help="share of speech clips flite speaks")
    data.add_argument("--perturbed", type=float, default=0.0, help="share of speech clips re-recorded")
    fit = sub.add_parser("fit", help="train and export (needs torch)")
    fit.add_argument("--data", required=True)
    fit.add_argument("--out", required=True)
    fit.add_argument("--minutes", type=float, default=38.0)
    fit.add_argument("--init", help="an exported phone model to start from (fine-tuning)")
    fit.add_argument("--lr", type=float, default=3e-3)
    fit.add_argument("--strong", action="store_true", help="warp the mel bands and mask more (other voices)")
    fit.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.step == "data":
        made = make_data(
            args.clips, args.seed, flite_voices=tuple(args.flite_voices), flite_share=args.flite_share,
            perturbed=args.perturbed,
        )  # fmt: skip
        np.savez(args.out, **made)
        print(f"wrote {args.out}")
    else:
        from benchmarks.phone_model_fit import fit_and_export

        fit_and_export(
            args.data.split(","), args.out, minutes=args.minutes, seed=SEED, init=args.init, lr=args.lr,
            strong=args.strong, threads=args.threads,
        )  # fmt: skip


if __name__ == "__main__":
    main()
