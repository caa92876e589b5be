"""Where a soundtrack holds a human voice: Silero VAD (MIT, shipped in ``milkmobs/data``, run with
onnxruntime; see ``silero_vad.LICENSE.txt`` there for its source and version).

The model reads 16 kHz audio in frames of 512 samples (32 ms), each preceded by the last 64 samples
of the frame before, and carries an LSTM state from frame to frame. Its "sequence" export takes a
block of frames in one call (``input`` of shape (frames, 576), state ``h``/``c`` of shape
(1, 1, 128)) and returns one speech probability per frame, so a clip costs a call per 16 s rather
than one per 32 ms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.onnx_session import LazySession, packaged_model

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 512
_CONTEXT_SAMPLES = 64
_MODEL = "silero_vad_16k_sequence.onnx"
_FRAMES_PER_CALL = 512  # about 16 s of audio a call: bounded memory on long clips


class VoiceActivity:
    """Per-frame speech probabilities of 16 kHz mono samples. One ONNX session, created on first use."""

    def __init__(self) -> None:
        self._session = LazySession(lambda: packaged_model(_MODEL), "voice detection")

    def _ready(self) -> Any:
        return self._session.get()

    def probabilities(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The speech probability of each 512-sample frame of ``samples`` (the last one zero-padded)."""
        session = self._ready()
        count = -(-samples.size // FRAME_SAMPLES)
        frames = np.zeros((count, FRAME_SAMPLES), np.float32)
        frames.reshape(-1)[: samples.size] = samples
        context = np.zeros((count, _CONTEXT_SAMPLES), np.float32)
        context[1:] = frames[:-1, -_CONTEXT_SAMPLES:]
        blocks = np.concatenate([context, frames], axis=1)
        h = np.zeros((1, 1, 128), np.float32)
        c = np.zeros((1, 1, 128), np.float32)
        out: list[npt.NDArray[np.float32]] = []
        for first in range(0, count, _FRAMES_PER_CALL):
            probs, h, c = session.run(None, {"input": blocks[first : first + _FRAMES_PER_CALL], "h": h, "c": c})
            out.append(np.asarray(probs, np.float32).reshape(-1))
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def frame_span(start_seconds: float, end_seconds: float) -> slice:
    """The frames of ``probabilities`` that overlap the time span, and the frame after it."""
    return slice(
        int(start_seconds * SAMPLE_RATE / FRAME_SAMPLES), int(np.ceil(end_seconds * SAMPLE_RATE / FRAME_SAMPLES)) + 1
    )
