"""An experiment, not shipped: "milk" heard by a small classifier over Google's speech embedding.

The speech embedding model (``word_model/speech_embedding.onnx`` and its mel front end
``word_model/speech_embedding_melspectrogram.onnx``, openWakeWord's ONNX export of Google's
speech_embedding; see ``word_model/LICENSE.txt`` for their source and the open licence question)
was trained by Google on large corpora of real speech: it turns 76 frames of a 32-band mel
spectrogram (10 ms apart, 0.79 s of audio) into a 96-number embedding, one every 80 ms. A word model
(``word_model/milk.word.npz``, made by ``train_word_model.py`` from generated speech) reads
``context`` consecutive embeddings and gives the probability that the word was spoken inside them.
``WordModelSpotter`` is the local analyzer's spotter with "milk" heard this way; ``audio_words.py``
measures it beside the shipped phone model and the pocketsphinx spotter. It is not shipped: on the
first held-out set it missed the goal (precision 0.79, recall 0.92; near-miss words like "mill",
"melt", "filmed" are heard as "milk").
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.speech import SpeechSpotter, SpeechTuning, SpokenWord
from milkmobs.adapters.local.voice_activity import frame_span

MODELS = Path(__file__).resolve().parent / "word_model"

SAMPLE_RATE = 16_000
_MEL_MODEL = "speech_embedding_melspectrogram.onnx"
_EMBEDDING_MODEL = "speech_embedding.onnx"
_MEL_HOP = 160  # samples between mel frames
_MEL_WINDOW = 640  # samples a mel frame reads
_WINDOW_FRAMES = 76  # mel frames an embedding reads
_STEP_FRAMES = 8  # mel frames between embeddings
EMBEDDING_STEP_SECONDS = _STEP_FRAMES * _MEL_HOP / SAMPLE_RATE
EMBEDDING_SPAN_SECONDS = ((_WINDOW_FRAMES - 1) * _MEL_HOP + _MEL_WINDOW) / SAMPLE_RATE
_BATCH = 256  # embeddings a call: about 20 s of audio, bounded memory on long clips


def _session(name: str) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(MODELS / name), sess_options=options, providers=["CPUExecutionProvider"])


class SpeechEmbedder:
    """Speech embeddings of 16 kHz mono samples. Two ONNX sessions, created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: tuple[Any, Any] | None = None

    def _ready(self) -> tuple[Any, Any]:
        with self._lock:
            if self._sessions is None:
                self._sessions = (_session(_MEL_MODEL), _session(_EMBEDDING_MODEL))
            return self._sessions

    def embeddings(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """One 96-number embedding per 80 ms of ``samples`` (shape (n, 96); n = 0 under 0.79 s).
        Embedding ``i`` reads the audio from ``i * EMBEDDING_STEP_SECONDS`` for
        ``EMBEDDING_SPAN_SECONDS``."""
        mel, embed = self._ready()
        if samples.size < _MEL_WINDOW:
            return np.zeros((0, 96), np.float32)
        # The model wants 16-bit sample values; the offset and scale bring it to the original's range.
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.float32)[None]
        spec = np.asarray(mel.run(None, {"input": pcm})[0], np.float32).reshape(-1, 32) / 10 + 2
        count = (spec.shape[0] - _WINDOW_FRAMES) // _STEP_FRAMES + 1
        if count <= 0:
            return np.zeros((0, 96), np.float32)
        index = np.arange(_WINDOW_FRAMES)[None] + _STEP_FRAMES * np.arange(count)[:, None]
        out = []
        for first in range(0, count, _BATCH):
            windows = spec[index[first : first + _BATCH]][..., None]
            out.append(np.asarray(embed.run(None, {"input_1": windows})[0], np.float32).reshape(-1, 96))
        return np.concatenate(out)


@dataclass(frozen=True)
class WordModel:
    """A two-layer perceptron over ``context`` consecutive embeddings (flattened, standardised)."""

    word: str
    context: int
    mean: npt.NDArray[np.float32]
    scale: npt.NDArray[np.float32]
    hidden_weights: npt.NDArray[np.float32]
    hidden_bias: npt.NDArray[np.float32]
    out_weights: npt.NDArray[np.float32]
    out_bias: float

    def probabilities(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The word's probability in each run of ``context`` embeddings; entry ``i`` covers embeddings
        ``i`` to ``i + context - 1``."""
        count = embeddings.shape[0] - self.context + 1
        if count <= 0:
            return np.zeros(0, np.float32)
        index = np.arange(self.context)[None] + np.arange(count)[:, None]
        x = (embeddings[index].reshape(count, -1) - self.mean) / self.scale
        hidden = np.maximum(x @ self.hidden_weights + self.hidden_bias, 0.0)
        logits = hidden @ self.out_weights + self.out_bias
        probabilities: npt.NDArray[np.float32] = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32).reshape(-1)
        return probabilities

    def save(self, path: str) -> None:
        np.savez_compressed(
            path,
            word=np.array(self.word),
            context=np.array(self.context),
            mean=self.mean,
            scale=self.scale,
            hidden_weights=self.hidden_weights,
            hidden_bias=self.hidden_bias,
            out_weights=self.out_weights,
            out_bias=np.array(self.out_bias),
        )

    @classmethod
    def from_npz(cls, data: Any) -> WordModel:
        return cls(
            word=str(data["word"]),
            context=int(data["context"]),
            mean=np.asarray(data["mean"], np.float32),
            scale=np.asarray(data["scale"], np.float32),
            hidden_weights=np.asarray(data["hidden_weights"], np.float32),
            hidden_bias=np.asarray(data["hidden_bias"], np.float32),
            out_weights=np.asarray(data["out_weights"], np.float32).reshape(-1),
            out_bias=float(data["out_bias"]),
        )


class WordModelSpotter(SpeechSpotter):
    """The local analyzer's spotter with "milk" heard by the word model (other words by pocketsphinx): a
    run of embeddings counts at ``min_word_probability`` or more where the voice detector's mean
    speech probability over it (1.2 s: pauses around the word lower it) is at least
    ``min_run_speech_probability``; one hit per stretch of consecutive runs, at its most probable."""

    def __init__(self, *, min_word_probability: float = 0.95, min_run_speech_probability: float = 0.5) -> None:
        super().__init__(SpeechTuning())
        self.min_word_probability = min_word_probability
        self.min_run_speech_probability = min_run_speech_probability
        self._embedder = SpeechEmbedder()
        self._model = WordModel.from_npz(np.load(MODELS / "milk.word.npz"))

    def spoken(self, samples: npt.NDArray[np.float32], terms: Sequence[str]) -> list[SpokenWord]:
        others = [t for t in terms if t.lower() != self._model.word]
        hits = super().spoken(samples, others) if others else []
        if len(others) == len(terms) or samples.size < SAMPLE_RATE // 4:
            return hits
        voice = self._voice.probabilities(samples)
        if not np.any(voice >= self.min_run_speech_probability):
            return hits
        probabilities = self._model.probabilities(self._embedder.embeddings(samples))
        span = (self._model.context - 1) * EMBEDDING_STEP_SECONDS + EMBEDDING_SPAN_SECONDS
        last = -2
        for i in np.flatnonzero(probabilities >= self.min_word_probability):
            start = float(i) * EMBEDDING_STEP_SECONDS
            hit = SpokenWord(self._model.word, round(start, 2), round(start + span, 2), float(probabilities[i]))
            under = voice[frame_span(hit.start_seconds, hit.end_seconds)]
            if under.size == 0 or float(under.mean()) < self.min_run_speech_probability:
                continue
            if hits and i == last + 1 and hits[-1].word == hit.word:
                hits[-1] = max(hits[-1], hit, key=lambda h: h.confidence)
            else:
                hits.append(hit)
            last = int(i)
        return sorted(hits, key=lambda h: h.start_seconds)
