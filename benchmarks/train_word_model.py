"""Trains the "milk" word model of ``word_spotter.py`` (``word_model/milk.word.npz``; an experiment,
not shipped).

Seeded and offline (a re-run makes the same labelled data; the weights come out close, not
bit-identical): the training speech is generated with espeak-ng's
library, whose word events say where each word starts, so every 80 ms step of a clip can be labelled
"the word is inside this context" (positive), "none of it is" (negative) or "part of it" (left out).

- Sentences: from word lists and from runs of English prose (Python's help topics), never the
  sentences of the labelled sets in ``tests/speech_support.py``; 3 in 7 say "milk" somewhere, and
  many of the others say a word that sounds close (``NEAR_MISSES`` and the CMU dictionary's words
  within one phone edit of "milk").
- Voices: espeak-ng's English voices with its voice variants, except the variants kept for the
  fresh held-out set (``HELD_OUT_VARIANTS``), at 120 to 200 words a minute and several pitches.
- Under half of the speech: tones, melodies, beats or noise, at several levels; and clips of music,
  noise and silence alone.

The classifier is a small perceptron (scikit-learn, then saved as plain arrays that
``word_spotter.WordModel`` runs with numpy). Usage, from the repository root (about 15 minutes on
one core; scikit-learn is in the dev extra):

    python benchmarks/train_word_model.py [--out benchmarks/word_model/milk.word.npz]
"""

from __future__ import annotations

import argparse
import ctypes
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from benchmarks.word_spotter import (
    EMBEDDING_SPAN_SECONDS,
    EMBEDDING_STEP_SECONDS,
    MODELS,
    SpeechEmbedder,
    WordModel,
)
from tests.speech_support import beat, chord, melody, noise

SAMPLE_RATE = 16_000
WORD = "milk"
CONTEXT = 6  # embeddings a decision reads: 1.19 s of audio
SEED = 20261203

# ("en" is en-gb: the library finds en-gb by its file name only)
BASE_VOICES = [
    "en-us", "en", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
]  # fmt: skip
# espeak-ng's voice variants ("+name"); whispers are left out (no voiced sound to hear).
VARIANTS = [
    "", "adam", "Alex", "Alicia", "Andrea", "antonio", "aunty", "benjamin", "boris", "caleb", "david", "Denis",
    "Diogo", "ed", "edward", "edward2", "Gene", "Gene2", "gustave", "announcer", "Henrique", "Hugo", "iven", "iven2",
    "iven3", "iven4", "Jacky", "kaukovalta", "Lee", "marcelo", "Marco", "Mario", "max", "Michael", "michel",
    "miguel", "Mike", "Mr", "Nguyen", "pablo", "paul", "pedro", "RicishayMax", "RicishayMax2", "RicishayMax3",
    "rob", "robert", "robosoft", "robosoft2", "robosoft3", "robosoft4", "robosoft5", "robosoft6", "robosoft7",
    "robosoft8", "steph", "steph3", "Storm", "Tweaky", "zac", "anika", "AnxiousAndy", "fast", "f1", "f2", "f3",
    "f4", "f5", "grandpa", "grandma", "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "m1", "m2", "m3",
    "m4", "m5", "m7", "norbert", "sandro", "shelby", "victor",
]  # fmt: skip
# Never used in training: the fresh held-out set speaks with these.
HELD_OUT_VARIANTS = ["Andy", "Annie", "belinda", "john", "linda", "m6", "m8", "quincy", "steph2", "travis"]

SUBJECTS = [
    "I", "you", "we", "they", "he", "she", "my mom", "my dad", "the kids", "our team", "the baby", "everyone",
    "my sister", "the farmer", "the chef", "my friend", "the teacher", "grandma", "the boys", "the girls",
    "nobody", "somebody", "the cat", "the dog",
]  # fmt: skip
VERBS = [
    "want", "need", "like", "love", "bought", "found", "drank", "poured", "spilled", "brought", "carried", "made",
    "saw", "forgot", "ordered", "shared", "tasted", "picked", "got", "have", "had", "took", "heated", "mixed",
    "sold", "asked for", "ran out of", "looked for", "talked about", "dreamed about",
]  # fmt: skip
NOUNS = [
    "water", "juice", "coffee", "tea", "bread", "butter", "cheese", "cereal", "cookies", "cake", "apples", "bananas",
    "oranges", "soup", "rice", "pasta", "pizza", "eggs", "honey", "sugar", "salt", "pepper", "chocolate", "candy",
    "lemonade", "soda", "yogurt", "cream", "toast", "jam", "the ball", "a book", "a bike", "the car", "the keys",
    "a phone", "the tickets", "some shoes", "a hat", "the music", "a song", "the news", "a movie", "the game",
    "a letter", "the map", "flowers", "a blanket", "the bags", "a present",
]  # fmt: skip
# Words that sound close to the word: never labelled positive.
NEAR_MISSES = [
    "mill", "silk", "milt", "film", "meal", "melt", "built", "elk", "ilk", "bilk", "mint", "mix", "mild", "mile",
    "milo", "quilt", "kilt", "milder", "miller", "mills", "silky", "hulk", "bulk", "walk", "mall", "mole", "milan",
    "mail", "mist", "mick", "mike", "melon", "smile", "million", "military", "militant", "mellow", "pill", "bill",
    "fill", "hill", "kill", "will", "still", "sulk", "whelk", "mulch", "malt", "molt",
]  # fmt: skip
PLACES = [
    "at home", "in the kitchen", "at the store", "this morning", "every day", "last night", "after school",
    "before bed", "on the farm", "at the park", "in the car", "with breakfast", "for lunch", "at the party",
    "on monday", "right now", "again", "for everyone", "in the fridge", "on the table", "", "", "",
]  # fmt: skip
MILK_PHRASES = [
    "milk", "some milk", "the milk", "cold milk", "warm milk", "fresh milk", "more milk", "a glass of milk",
    "a cup of milk", "chocolate milk", "strawberry milk", "oat milk", "whole milk", "milk and cookies",
    "milk and bread", "a carton of milk", "skim milk", "the milk jug", "milk", "milk",
]  # fmt: skip
SHORT_POSITIVES = [
    "milk", "milk!", "got milk?", "got milk", "milk please", "more milk", "milk, milk, milk", "I love milk",
    "milk time", "yes, milk", "milk for me", "drink your milk", "milk is good", "mmm, milk",
]  # fmt: skip


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def prose_words() -> list[str]:
    """Running English text to draw word sequences from: the Python reference's help topics
    (``pydoc_data``, in every CPython), lower-cased, words of letters only."""
    from pydoc_data.topics import topics

    words = re.findall(r"[A-Za-z]+|[^A-Za-z\s]+", " ".join(topics.values()))
    return [w.lower() if w.isalpha() else "|" for w in words]  # "|": a break no sequence crosses


def sounds_close() -> list[str]:
    """Dictionary words (pocketsphinx's CMU dictionary) within one edit of the word's phones."""
    from pocketsphinx import get_model_path

    from milkmobs.adapters.local.speech import phone_distance

    spelling = ["M", "IH", "L", "K"]
    close = []
    with open(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict") as lines:
        for line in lines:
            word, *phones = line.split()
            if re.fullmatch("[a-z]{3,9}", word) and WORD not in word and phone_distance(spelling, phones) <= 1.0:
                close.append(word)
    return sorted(set(close) | set(NEAR_MISSES))


class Sentences:
    """Seeded sentences: half from the word lists, half runs of prose; with ``says_word`` one phrase
    of it holds the word, without it often a word that sounds close."""

    def __init__(self) -> None:
        self.prose = prose_words()
        self.close = sounds_close()

    def _prose(self, rng: np.random.Generator) -> list[str]:
        while True:
            length = int(rng.integers(3, 11))
            start = int(rng.integers(len(self.prose) - length))
            run = self.prose[start : start + length]
            if "|" not in run and WORD not in "".join(run):
                return run

    def make(self, rng: np.random.Generator, says_word: bool) -> str:
        if says_word and rng.random() < 0.15:
            return _pick(rng, SHORT_POSITIVES)
        if says_word:
            obj = _pick(rng, MILK_PHRASES)
        elif rng.random() < 0.5:
            obj = _pick(rng, self.close) if rng.random() < 0.6 else f"the {_pick(rng, self.close)}"
        else:
            obj = _pick(rng, NOUNS)
        if rng.random() < 0.5:
            run = self._prose(rng)
            if says_word or rng.random() < 0.5:
                run.insert(int(rng.integers(len(run) + 1)), obj)
            return " ".join(run)
        shape = rng.random()
        if shape < 0.6:
            parts = [_pick(rng, SUBJECTS), _pick(rng, VERBS), obj, _pick(rng, PLACES)]
        elif shape < 0.8:
            parts = [obj, "is", _pick(rng, ["great", "cold", "on the table", "gone", "here", "the best", "good"])]
        else:
            parts = [_pick(rng, ["can I have", "please pass", "where is", "do you want", "look at"]), obj]
        return " ".join(p for p in parts if p)


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_WORD_EVENT, _END_OF_LIST = 1, 0


class Espeak:
    """espeak-ng's library, synchronous: samples and where each word starts."""

    def __init__(self) -> None:
        self._lib = ctypes.CDLL("libespeak-ng.so.1")
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.rate = int(self._lib.espeak_Initialize(2, 0, None, 0))  # AUDIO_OUTPUT_SYNCHRONOUS
        self._chunks: list[np.ndarray] = []
        self._words: list[tuple[int, int, int]] = []  # text position (1-based), length, sample
        self._callback = _CALLBACK(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != _END_OF_LIST:
            if events[i].type == _WORD_EVENT:
                self._words.append((events[i].text_position, events[i].length, events[i].sample))
            i += 1
        return 0

    def say(self, text: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, list[tuple[str, int]]]:
        """16 kHz float32 samples and (word, first sample) of each word."""
        from scipy.signal import resample_poly

        self._chunks, self._words = [], []
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice}")
        self._lib.espeak_SetParameter(1, speed, 0)  # espeakRATE
        self._lib.espeak_SetParameter(3, pitch, 0)  # espeakPITCH
        data = text.encode()
        self._lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 0, None, None)
        self._lib.espeak_Synchronize()
        raw = np.concatenate(self._chunks).astype(np.float32) / 32768
        samples = resample_poly(raw, SAMPLE_RATE, self.rate).astype(np.float32)
        words = [
            (text[pos - 1 : pos - 1 + length], int(sample * SAMPLE_RATE / self.rate))
            for pos, length, sample in self._words
        ]
        return samples, words


@dataclass
class Clip:
    samples: np.ndarray
    spans: list[tuple[float, float]]  # seconds where the word is spoken


def word_spans(samples: np.ndarray, words: list[tuple[str, int]]) -> list[tuple[float, float]]:
    """Where the word is: from its start to the next word's start, or to the end of the sound."""
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    last = (loud[-1] + 1) if loud.size else samples.size
    spans = []
    for i, (text, start) in enumerate(words):
        if "".join(ch for ch in text.lower() if ch.isalpha()) == WORD:
            end = words[i + 1][1] if i + 1 < len(words) else last
            spans.append((start / SAMPLE_RATE, min(end, last) / SAMPLE_RATE))
    return spans


def background(rng: np.random.Generator, seconds: float) -> np.ndarray:
    seed = 1000 + int(rng.integers(100_000))
    kind = _pick(rng, ["melody", "chord", "beat", "white", "brown", "hum"])
    if kind == "melody":
        return melody(seed, seconds, notes_per_second=int(rng.integers(2, 9)))
    if kind == "chord":
        root = float(rng.uniform(110, 400))
        return chord((root, root * 1.26, root * 1.5), seconds, pulse=float(rng.choice([0.0, 1.0, 2.0, 3.0])))
    if kind == "beat":
        return beat(seed, seconds, bpm=int(rng.integers(70, 160)))
    return noise(kind, seconds, amplitude=float(rng.uniform(0.02, 0.5)), seed=seed)


def make_clips(count: int, seed: int) -> Iterator[Clip]:
    rng = np.random.default_rng(seed)
    espeak = Espeak()
    sentences = Sentences()
    for k in range(count):
        if k % 8 == 7:  # music, noise or silence alone
            seconds = float(rng.uniform(1.5, 5.0))
            bed = background(rng, seconds) if rng.random() < 0.9 else np.zeros(int(seconds * SAMPLE_RATE), np.float32)
            yield Clip(bed * float(rng.uniform(0.3, 2.0)), [])
            continue
        voice = f"{_pick(rng, BASE_VOICES)}+{v}" if (v := _pick(rng, VARIANTS)) else _pick(rng, BASE_VOICES)
        text = sentences.make(rng, says_word=k % 8 in (0, 3, 6))  # 3 of the 7 speech clips
        samples, words = espeak.say(text, voice, int(rng.integers(120, 201)), int(rng.integers(25, 80)))
        lead = int(rng.uniform(0.05, 0.8) * SAMPLE_RATE)
        samples = np.concatenate([np.zeros(lead, np.float32), samples, np.zeros(int(0.3 * SAMPLE_RATE), np.float32)])
        spans = [(a + lead / SAMPLE_RATE, b + lead / SAMPLE_RATE) for a, b in word_spans(samples[lead:], words)]
        if rng.random() < 0.45:
            bed = np.resize(background(rng, samples.size / SAMPLE_RATE + 0.1), samples.shape)
            level = float(rng.choice([0.1, 0.2, 0.3, 0.5]))
            samples = samples + level * bed * (np.max(np.abs(samples)) / max(float(np.max(np.abs(bed))), 1e-9))
        gain = float(rng.uniform(0.3, 1.0)) / max(float(np.max(np.abs(samples))), 1e-9)
        yield Clip((samples * gain).astype(np.float32), spans)


def labelled_contexts(clip: Clip, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flattened runs of ``CONTEXT`` embeddings and their labels (1 word inside, 0 none of it;
    runs holding part of the word are left out)."""
    count = embeddings.shape[0] - CONTEXT + 1
    if count <= 0:
        return np.zeros((0, CONTEXT * 96), np.float32), np.zeros(0)
    starts = np.arange(count) * EMBEDDING_STEP_SECONDS
    ends = starts + (CONTEXT - 1) * EMBEDDING_STEP_SECONDS + EMBEDDING_SPAN_SECONDS
    labels = np.zeros(count)
    for a, b in clip.spans:
        overlap = np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0, None)
        inside = (starts <= a + 0.03) & (ends >= b - 0.03)
        labels[(overlap > 0.05) & ~inside] = -1
        labels[inside] = 1
    index = np.arange(CONTEXT)[None] + np.arange(count)[:, None]
    x = embeddings[index].reshape(count, -1)
    keep = labels >= 0
    return x[keep], labels[keep]


def train(x: np.ndarray, y: np.ndarray, hidden: int, seed: int) -> WordModel:
    from sklearn.neural_network import MLPClassifier

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-3
    net = MLPClassifier(
        hidden_layer_sizes=(hidden,), alpha=1e-2, batch_size=256, learning_rate_init=1e-3, max_iter=40,
        early_stopping=True, validation_fraction=0.1, n_iter_no_change=5, random_state=seed,
    )  # fmt: skip
    net.fit((x - mean) / scale, y)
    return WordModel(
        word=WORD,
        context=CONTEXT,
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        hidden_weights=net.coefs_[0].astype(np.float32),
        hidden_bias=net.intercepts_[0].astype(np.float32),
        out_weights=net.coefs_[1].reshape(-1).astype(np.float32),
        out_bias=float(net.intercepts_[1][0]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=8000)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--out", default=str(MODELS / "milk.word.npz"))
    parser.add_argument("--cache", help="an .npz to keep the labelled embeddings in (and read them from)")
    args = parser.parse_args()
    if args.cache and Path(args.cache).exists():
        data = np.load(args.cache)
        x, y = data["x"], data["y"]
    else:
        embedder = SpeechEmbedder()
        xs, ys = [], []
        for clip in make_clips(args.clips, SEED):
            cx, cy = labelled_contexts(clip, embedder.embeddings(clip.samples))
            xs.append(cx)
            ys.append(cy)
        x, y = np.concatenate(xs), np.concatenate(ys)
        if args.cache:
            np.savez(args.cache, x=x, y=y)
    print(f"{len(y)} contexts, {int(y.sum())} with the word")
    model = train(x, y, args.hidden, SEED)
    model.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
