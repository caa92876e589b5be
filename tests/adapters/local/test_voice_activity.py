"""The voice detector (Silero VAD, shipped in the package) on generated speech, music, noise and silence."""

from __future__ import annotations

import numpy as np
import pytest
from tests.speech_support import beat, chord, espeak_available, melody, noise, over, speech

pytest.importorskip("onnxruntime")

from milkmobs.adapters.local.voice_activity import FRAME_SAMPLES, SAMPLE_RATE, VoiceActivity, frame_span

_DETECTOR = VoiceActivity()


def test_one_probability_per_frame_the_last_one_padded() -> None:
    for size in (1, FRAME_SAMPLES, FRAME_SAMPLES + 1, 600 * FRAME_SAMPLES):  # 600 frames: two model calls
        probs = _DETECTOR.probabilities(np.zeros(size, np.float32))
        assert probs.shape == (-(-size // FRAME_SAMPLES),)
        assert probs.dtype == np.float32 and float(probs.max()) < 0.1
    assert _DETECTOR.probabilities(np.zeros(0, np.float32)).shape == (0,)


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng makes the speech: apt-get install espeak-ng")
def test_a_voice_is_speech_even_over_music() -> None:
    for samples in (
        speech("we ran out of milk again", "en-us", 175),
        speech("hey there, got milk", "en-gb-scotland+m3", 150),
        over(speech("pass me the salt", "en-us+klatt2", 150), melody(7)),
    ):
        probs = _DETECTOR.probabilities(samples)
        assert float(np.mean(probs > 0.5)) > 0.4  # the voice, less the padding and pauses


@pytest.mark.parametrize(
    "make",
    [
        lambda: melody(5, notes_per_second=8),
        lambda: chord((261.6, 329.6, 392.0), pulse=2.0),
        lambda: beat(3),
        lambda: noise("white", amplitude=0.8),
        lambda: noise("brown"),
        lambda: np.zeros(2 * SAMPLE_RATE, np.float32),
    ],
    ids=["melody", "chord", "beat", "white-noise", "brown-noise", "silence"],
)
def test_music_noise_and_silence_are_not(make: object) -> None:
    probs = _DETECTOR.probabilities(make())  # type: ignore[operator]
    assert float(probs.max()) < 0.8


def test_a_time_span_covers_the_frames_it_overlaps() -> None:
    # Frame k holds samples [512 k, 512 (k + 1)): 1.0 s is in frame 31, 1.5 s in frame 46.
    assert frame_span(1.0, 1.5) == slice(31, 48)  # ... and the frame after
    assert frame_span(0.0, 0.0) == slice(0, 1)
