"""A labelled set of mp4 clips for the soundtrack's "milk mentioned": generated speech (espeak-ng)
with and without the word, music-like tones and chords, silence and noise, muxed under a test
picture with the imageio-ffmpeg binary. Used by the tests and ``benchmarks/audio_words.py``."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class LabelledClip:
    name: str
    kind: str  # "speech-with-word", "speech", "music", "silence", "noise"
    says_milk: bool
    make: Callable[[], np.ndarray]


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def speech(text: str, voice: str = "en-us+klatt", speed: int = 160) -> np.ndarray:
    """``text`` spoken by espeak-ng, as 16 kHz mono float32, with a little silence either side."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True, timeout=60
    ).stdout
    raw = subprocess.run(
        [_ffmpeg(), "-loglevel", "error", "-i", "-", "-ar", str(SAMPLE_RATE), "-ac", "1", "-f", "s16le", "-"],
        input=wav,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    pad = np.zeros(SAMPLE_RATE // 4, np.float32)
    return np.concatenate([pad, np.frombuffer(raw, "<i2").astype(np.float32) / 32768, pad])


def _seconds(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE


def chord(freqs: tuple[float, ...], seconds: float = 3.0, *, pulse: float = 0.0) -> np.ndarray:
    """Sine partials of a chord, optionally pulsing ``pulse`` times a second."""
    t = _seconds(seconds)
    x = sum(np.sin(2 * np.pi * f * t) * 0.7**k for k, f in enumerate(freqs))
    if pulse:
        x = x * (0.6 + 0.4 * np.sin(2 * np.pi * pulse * t))
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def melody(seed: int, seconds: float = 3.0, notes_per_second: int = 4) -> np.ndarray:
    """Plucked harmonic notes of a C major scale in a seeded random order."""
    rng = np.random.default_rng(seed)
    scale = [261.6, 293.7, 329.6, 349.2, 392.0, 440.0, 493.9, 523.3]
    t = _seconds(1 / notes_per_second)
    notes = []
    for _ in range(int(seconds * notes_per_second)):
        f = scale[int(rng.integers(len(scale)))]
        notes.append(sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3, 4)) * np.exp(-t * 6))
    x = np.concatenate(notes)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def noise(colour: str, seconds: float = 3.0, amplitude: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng({"white": 1, "brown": 2, "hum": 3}[colour])
    x = rng.standard_normal(int(seconds * SAMPLE_RATE))
    if colour == "brown":
        x = np.cumsum(x)
        x -= np.convolve(x, np.ones(400) / 400, mode="same")  # keep it centred
    if colour == "hum":
        x = 0.3 * x + np.sin(2 * np.pi * 50 * _seconds(seconds)) * 3
    return (amplitude * x / np.max(np.abs(x))).astype(np.float32)


_WITH = [
    ("got milk? I love milk", "en-us+klatt", 160),
    ("I drink a glass of milk with my friends", "en-us+klatt3", 160),
    ("milk is my favourite drink", "en-us+f2", 140),
    ("pour me some cold milk please", "en-us+klatt", 140),
    ("we all want more milk today", "en-us+klatt3", 170),
    ("got milk", "en-us+klatt3", 150),
]
_WITHOUT = [
    ("the weather is lovely at the beach today", "en-us+klatt", 160),
    ("I went skateboarding with my friends in the park", "en-us+klatt3", 160),
    ("this is my new bicycle and it is very fast", "en-us+f2", 140),
    ("orange juice tastes great in the morning", "en-us+klatt", 140),
    ("look at the sunset over the mountains", "en-us+klatt3", 170),
    ("we are going to the mall", "en-us+f2", 150),
]


def _speech_clip(text: str, voice: str, speed: int) -> Callable[[], np.ndarray]:
    return lambda: speech(text, voice, speed)


def labelled_set() -> list[LabelledClip]:
    """24 clips: 6 speech with "milk", 6 speech without it, 6 music-like, 2 silence, 4 noise."""
    clips = [
        LabelledClip(f"says_milk_{i}", "speech-with-word", True, _speech_clip(*spec)) for i, spec in enumerate(_WITH)
    ]
    clips += [LabelledClip(f"speech_{i}", "speech", False, _speech_clip(*spec)) for i, spec in enumerate(_WITHOUT)]
    clips += [
        LabelledClip("chord_major", "music", False, lambda: chord((261.6, 329.6, 392.0), pulse=2.0)),
        LabelledClip("chord_minor", "music", False, lambda: chord((220.0, 261.6, 329.6, 440.0))),
        LabelledClip("melody_1", "music", False, lambda: melody(1)),
        LabelledClip("melody_2", "music", False, lambda: melody(2)),
        LabelledClip("melody_fast", "music", False, lambda: melody(3, notes_per_second=8)),
        LabelledClip("tone", "music", False, lambda: chord((440.0,))),
        LabelledClip("silence", "silence", False, lambda: np.zeros(3 * SAMPLE_RATE, np.float32)),
        LabelledClip("silence_short", "silence", False, lambda: np.zeros(SAMPLE_RATE, np.float32)),
        LabelledClip("noise_white", "noise", False, lambda: noise("white")),
        LabelledClip("noise_brown", "noise", False, lambda: noise("brown")),
        LabelledClip("noise_hum", "noise", False, lambda: noise("hum")),
        LabelledClip("noise_loud", "noise", False, lambda: noise("white", amplitude=0.8)),
    ]
    return clips


def mux_mp4(samples: np.ndarray, path: Path) -> Path:
    """An mp4 of a small test picture with ``samples`` (16 kHz mono) as its AAC soundtrack."""
    seconds = max(1.0, len(samples) / SAMPLE_RATE)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    cmd = [
        _ffmpeg(), "-nostdin", "-y", "-loglevel", "error",
        "-f", "lavfi", "-i", f"testsrc2=size=64x48:rate=5:duration={seconds:.3f}",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "-",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, input=pcm, check=True, timeout=60, capture_output=True)
    return path
