"""Phones heard in speech, with a small model of our own (``milkmobs/data/phones.onnx``).

The model (made by ``benchmarks/train_phone_model.py`` from speech generated with espeak-ng and flite; see
``milkmobs/data/phones.README.txt``) reads log-mel features, 100 frames a second, and gives for each
20 ms step the log-probabilities of the 39 ARPAbet phones of the CMU dictionary and of a CTC
"blank". A word is heard where its dictionary pronunciation explains the steps nearly as well as
the best free reading of them (``keyword_hits``): a CTC keyword search, so any dictionary word can
be listened for, not only the ones the model saw most in training.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.onnx_session import LazySession, packaged_model
from milkmobs.domain import MediaError

SAMPLE_RATE = 16_000
PHONES = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH",
    "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip
BLANK = len(PHONES)  # the CTC blank is the last class
N_MELS = 40
HOP = 160  # samples between feature frames: 10 ms
_WINDOW = 400  # samples a feature frame reads: 25 ms
_N_FFT = 512
_FLOOR = 1e-5  # mel power floor: silence is flat, not minus infinity
STEP_SECONDS = 2 * HOP / SAMPLE_RATE  # the model halves the frame rate
_MODEL = "phones.onnx"


@functools.cache
def _mel_filters() -> npt.NDArray[np.float32]:
    """Triangular mel filters (HTK mel scale, 60 Hz to 7.6 kHz), shape (FFT bins, N_MELS)."""

    def mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges_mel = np.linspace(mel(np.array(60.0)), mel(np.array(7600.0)), N_MELS + 2)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(_N_FFT, 1 / SAMPLE_RATE)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - low) / (centre - low)
    falling = (high - bins[None]) / (high - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).T.astype(np.float32)


def log_mel(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Log-mel features of 16 kHz mono samples, shape (frames, N_MELS), each band's mean over the
    clip removed (so the level and the channel do not matter)."""
    if samples.size < _WINDOW:
        samples = np.pad(samples, (0, _WINDOW - samples.size))
    count = 1 + (samples.size - _WINDOW) // HOP
    index = np.arange(_WINDOW)[None] + HOP * np.arange(count)[:, None]
    window = np.hanning(_WINDOW + 1)[:-1].astype(np.float32)
    power = np.abs(np.fft.rfft(samples[index] * window, _N_FFT)) ** 2
    features = np.log(power.astype(np.float32) @ _mel_filters() + _FLOOR)
    centred: npt.NDArray[np.float32] = (features - features.mean(axis=0)).astype(np.float32)
    return centred


class PhoneModel:
    """The phone model's log-probabilities for 16 kHz mono samples. One ONNX session, created on
    first use."""

    def __init__(self, model: bytes | None = None) -> None:
        self._session = LazySession(lambda: model or packaged_model(_MODEL), "speech recognition")

    def _ready(self) -> Any:
        return self._session.get()

    def log_probs(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Shape (steps, len(PHONES) + 1): one row per 20 ms (``STEP_SECONDS``), the blank last."""
        session = self._ready()
        features = log_mel(samples)[None]
        out: npt.NDArray[np.float32] = np.asarray(session.run(None, {"features": features})[0], np.float32)[0]
        return out


@dataclass(frozen=True)
class KeywordHit:
    """Steps ``start`` to ``end`` (inclusive) read as the word; ``score`` is how much less likely
    that reading is than the best free one (log-probability, at most 0)."""

    start: int
    end: int
    score: float


def keyword_hits(log_probs: npt.NDArray[np.float32], phones: Sequence[str], min_score: float) -> list[KeywordHit]:
    """Where ``phones`` (one pronunciation) can be read in ``log_probs`` at a score of ``min_score``
    or more: a Viterbi search of the word's CTC path (its phones, blanks allowed between), free to
    start and end at any step, on log-probabilities relative to each step's best class, so a stretch
    the model reads exactly as the word scores 0. One hit per run of overlapping candidates, the
    best."""
    labels = [PHONES.index(p) for p in phones]
    if not labels or log_probs.shape[0] == 0:
        return []
    relative = log_probs - log_probs.max(axis=1, keepdims=True)
    # States: phone 0, blank, phone 1, blank, ..., phone L-1 (a blank is needed between repeats).
    state_labels = np.array([x for i, lab in enumerate(labels) for x in ((lab,) if i == 0 else (BLANK, lab))])
    count = state_labels.size
    is_phone = np.arange(count) % 2 == 0
    # A phone state may be entered from the phone before it (skipping the blank) unless they repeat.
    skip = np.zeros(count, bool)
    skip[2::2] = state_labels[2::2] != state_labels[:-2:2]
    score = np.full(count, -np.inf)
    start = np.zeros(count, np.int64)
    ends: list[KeywordHit] = []
    for t in range(relative.shape[0]):
        stay, stay_start = score, start
        step, step_start = np.concatenate([[0.0], score[:-1]]), np.concatenate([[t], start[:-1]])
        jump = np.full(count, -np.inf)
        jump_start = np.zeros(count, np.int64)
        jump[2:][skip[2:]] = score[:-2][skip[2:]]
        jump_start[2:] = start[:-2]
        step[0] = max(0.0, score[0])  # the word may start at any step (state 0 is entered fresh)
        step_start[0] = t if score[0] <= 0.0 else start[0]
        best = np.maximum(np.maximum(stay, step), jump)
        best_start = np.where(best == stay, stay_start, np.where(best == step, step_start, jump_start))
        score = best + relative[t, state_labels]
        start = best_start
        if is_phone[-1] and score[-1] >= min_score:
            ends.append(KeywordHit(int(start[-1]), t, float(score[-1])))
    hits: list[KeywordHit] = []
    for hit in ends:
        if hits and hit.start <= hits[-1].end:
            if hit.score > hits[-1].score:
                hits[-1] = hit
        else:
            hits.append(hit)
    return hits


def _dictionary_path() -> str:
    try:
        from pocketsphinx import get_model_path
    except ImportError as exc:
        raise MediaError(f"speech recognition is not available: install milkmobs[media] ({exc})") from exc
    import os

    return os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")


@functools.lru_cache(maxsize=64)
def pronunciations(words: frozenset[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The CMU dictionary's pronunciations (the English dictionary shipped with pocketsphinx) of
    those of ``words`` it holds, lower-case."""
    found: dict[str, list[tuple[str, ...]]] = {}
    with open(_dictionary_path(), encoding="utf-8") as lines:
        for line in lines:
            entry, _, rest = line.partition(" ")
            word = entry.split("(")[0]
            if word in words:
                found.setdefault(word, []).append(tuple(rest.split()))
    return {w: tuple(p) for w, p in found.items()}
