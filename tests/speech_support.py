"""Labelled sets of mp4 clips for the soundtrack's "milk mentioned": generated speech (espeak-ng, and
flite and festival for the out-of-domain sets) with and without the word, music-like tones and chords, silence
and noise, muxed under a test picture with the imageio-ffmpeg binary. Used by the tests and
``benchmarks/audio_words.py``."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def flite_available() -> bool:
    return shutil.which("flite") is not None


# festival's voices of the festival set, by the short name the set uses: a diphone voice and an HTS
# voice, each built from recordings of a real speaker (Debian: festvox-kdlpc16k, festvox-us-slt-hts).
FESTIVAL_VOICES = {"ked": "ked_diphone", "slt_hts": "cmu_us_slt_arctic_hts"}
_FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices")


def festival_available() -> bool:
    """Whether festival's ``text2wave`` and both voices of the festival set are installed."""
    if shutil.which("text2wave") is None:
        return False
    return all(any(_FESTIVAL_VOICE_DIR.glob(f"*/{name}")) for name in FESTIVAL_VOICES.values())


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _padded_16k(wav: bytes) -> np.ndarray:
    """A wav file's bytes as 16 kHz mono float32, with a little silence either side."""
    raw = subprocess.run(
        [_ffmpeg(), "-loglevel", "error", "-i", "-", "-ar", str(SAMPLE_RATE), "-ac", "1", "-f", "s16le", "-"],
        input=wav,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    pad = np.zeros(SAMPLE_RATE // 4, np.float32)
    return np.concatenate([pad, np.frombuffer(raw, "<i2").astype(np.float32) / 32768, pad])


def speech(text: str, voice: str = "en-us+klatt", speed: int = 160) -> np.ndarray:
    """``text`` spoken by espeak-ng, as 16 kHz mono float32, with a little silence either side."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True, timeout=60
    ).stdout
    return _padded_16k(wav)


def flite_speech(text: str, voice: str = "kal", stretch: float = 1.0) -> np.ndarray:
    """``text`` spoken by flite's ``voice`` (``stretch`` > 1 is slower), like ``speech``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", text, "-o", str(out)]
        subprocess.run(cmd, capture_output=True, check=True, timeout=60)
        return _padded_16k(out.read_bytes())


def festival_speech(text: str, voice: str = "ked", stretch: float = 1.0) -> np.ndarray:
    """``text`` spoken by festival's ``voice`` (a key of ``FESTIVAL_VOICES``; ``stretch`` > 1 is
    slower, which the HTS voice ignores), like ``speech``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        cmd = [
            "text2wave", "-eval", f"(voice_{FESTIVAL_VOICES[voice]})",
            "-eval", f"(Parameter.set 'Duration_Stretch {stretch})", "-o", str(out),
        ]  # fmt: skip
        subprocess.run(cmd, input=text.encode(), capture_output=True, check=True, timeout=60)
        return _padded_16k(out.read_bytes())


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


def noise(colour: str, seconds: float = 3.0, amplitude: float = 0.2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng({"white": 1, "brown": 2, "hum": 3}[colour] + 10 * seed)
    x = rng.standard_normal(int(seconds * SAMPLE_RATE))
    if colour == "brown":
        x = np.cumsum(x)
        x -= np.convolve(x, np.ones(400) / 400, mode="same")  # keep it centred
    if colour == "hum":
        x = 0.3 * x + np.sin(2 * np.pi * 50 * _seconds(seconds)) * 3
    return (amplitude * x / np.max(np.abs(x))).astype(np.float32)


def beat(seed: int, seconds: float = 3.0, bpm: int = 120) -> np.ndarray:
    """A drum-like loop: decaying low thumps on the beat and noise bursts between, over a bass note."""
    rng = np.random.default_rng(seed)
    t = _seconds(seconds)
    x = 0.3 * np.sin(2 * np.pi * float(rng.choice([55.0, 65.4, 73.4])) * t)
    step = int(SAMPLE_RATE * 60 / bpm)
    hit = _seconds(0.2)
    for k, at in enumerate(range(0, len(t) - len(hit), step // 2)):
        if k % 2 == 0:
            x[at : at + len(hit)] += np.sin(2 * np.pi * 60 * hit) * np.exp(-hit * 25)
        else:
            x[at : at + len(hit)] += 0.5 * rng.standard_normal(len(hit)) * np.exp(-hit * 40)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def over(voice: np.ndarray, music: np.ndarray, level: float = 0.25) -> np.ndarray:
    """``voice`` with ``music`` under it at ``level`` of its loudness (the music is looped to fit)."""
    bed = np.resize(music, voice.shape)
    return (voice + level * bed * (np.max(np.abs(voice)) / max(float(np.max(np.abs(bed))), 1e-9))).astype(np.float32)


Speech = tuple[str, str, int]  # text, espeak-ng voice, words a minute

# The development set: the clips the thresholds and the approach were chosen on.
_DEV_WITH: list[Speech] = [
    ("got milk? I love milk", "en-us+klatt", 160),
    ("I drink a glass of milk with my friends", "en-us+klatt3", 160),
    ("milk is my favourite drink", "en-us+f2", 140),
    ("pour me some cold milk please", "en-us+klatt", 140),
    ("we all want more milk today", "en-us+klatt3", 170),
    ("got milk", "en-us+klatt3", 150),
    ("can I have some milk", "en-us", 150),
    ("the milk in the fridge is fresh", "en-gb+m1", 165),
]
_DEV_WITHOUT: list[Speech] = [
    ("the weather is lovely at the beach today", "en-us+klatt", 160),
    ("I went skateboarding with my friends in the park", "en-us+klatt3", 160),
    ("this is my new bicycle and it is very fast", "en-us+f2", 140),
    ("orange juice tastes great in the morning", "en-us+klatt", 140),
    ("look at the sunset over the mountains", "en-us+klatt3", 170),
    ("we are going to the mall", "en-us+f2", 150),
    ("the old mill stands by the river", "en-us", 150),  # sounds close to "milk"
    ("my brother plays football every weekend", "en-gb+m1", 165),
]

# The second development set: other sentences, voices, speeds and seeds. It was held out once and its
# misses were then studied, so it counts as development data.
_DEV2_WITH: list[Speech] = [
    ("do you want milk with your cereal", "en-us+klatt2", 155),
    ("milk makes my bones strong", "en-gb+klatt4", 145),
    ("she spilled the milk on the table", "en-us+m3", 170),
    ("a big cold glass of milk", "en-gb-x-rp+f4", 150),
    ("got milk? yes I got milk", "en-us+klatt4", 165),
    ("chocolate milk is the best", "en-029+klatt2", 150),
    ("we ran out of milk again", "en-us", 175),
    ("hey there, got milk", "en-gb-scotland+m3", 150),
]
_DEV2_WITHOUT: list[Speech] = [
    ("do you want toast with your coffee", "en-us+klatt2", 155),
    ("my scarf is made of silk", "en-gb+klatt4", 145),  # sounds close to "milk"
    ("the dog is running in the garden", "en-us+m3", 170),
    ("a big cold glass of water", "en-gb-x-rp+f4", 150),
    ("let us watch a movie tonight", "en-us+klatt4", 165),
    ("the concert starts at eight", "en-029+klatt2", 150),
    ("we ran out of bread again", "en-us", 175),
    ("hey there, how are you", "en-gb-scotland+m3", 150),
]


# The third development set: sentences, voice and speed pairs and seeds used in neither set above. It
# was held out once and its misses were then studied, so it counts as development data.
_DEV3_WITH: list[Speech] = [
    ("I like milk in my tea", "en-gb-x-gbclan+m2", 155),
    ("the baby is drinking warm milk", "en-us-nyc+f1", 145),
    ("buy some milk on the way home", "en-us+klatt5", 165),
    ("milk and cookies before bed", "en-gb-x-gbcwmd+m4", 150),
    ("is there any milk left", "en-029+f3", 160),
    ("my cat loves milk", "en-us+m5", 135),
    ("add a splash of milk to the coffee", "en-gb+f5", 170),
    ("fresh milk from the farm", "en-us+klatt6", 180),
]
_DEV3_WITHOUT: list[Speech] = [
    ("I like lemon in my tea", "en-gb-x-gbclan+m2", 155),
    ("the baby is sleeping in her room", "en-us-nyc+f1", 145),
    ("buy some bread on the way home", "en-us+klatt5", 165),
    ("the ice cream will melt in the sun", "en-gb-x-gbcwmd+m4", 150),  # "melt" sounds close to "milk"
    ("is there any cake left", "en-029+f3", 160),
    ("my cat loves to sleep", "en-us+m5", 135),
    ("he built a wall by the lake", "en-gb+f5", 170),  # "built" sounds close to "milk"
    ("fresh eggs from the farm", "en-us+klatt6", 180),
]


def _said(
    say: Callable[[str, str, Any], np.ndarray], spec: tuple[str, str, Any], music: Callable[[], np.ndarray] | None
) -> Callable[[], np.ndarray]:
    """A clip of ``spec`` (text, voice, pace) spoken by the synthesizer ``say``, over ``music`` if given."""
    if music is None:
        return lambda: say(*spec)
    return lambda: over(say(*spec), music())


def _speech_clip(spec: Speech, music: Callable[[], np.ndarray] | None = None) -> Callable[[], np.ndarray]:
    return _said(speech, spec, music)


def _speech_clips(
    prefix: str,
    with_word: Sequence[tuple[str, str, Any]],
    without: Sequence[tuple[str, str, Any]],
    clip: Callable[[Any], Callable[[], np.ndarray]] = _speech_clip,
) -> list[LabelledClip]:
    """``prefix``says_milk_<i> for each of ``with_word``, ``prefix``speech_<i> for each of ``without``."""
    clips = [LabelledClip(f"{prefix}says_milk_{i}", "speech-with-word", True, clip(s)) for i, s in enumerate(with_word)]
    return clips + [LabelledClip(f"{prefix}speech_{i}", "speech", False, clip(s)) for i, s in enumerate(without)]


def development_set() -> list[LabelledClip]:
    """34 clips: 8 speech with "milk", 8 without, 2 of each over music, 6 music, 2 silence, 6 noise."""
    clips = _speech_clips("dev_", _DEV_WITH, _DEV_WITHOUT)
    clips += [
        LabelledClip("dev_music_says_milk", "speech-with-word", True,
                     _speech_clip(("I want milk right now", "en-us+klatt", 160), lambda: melody(4))),
        LabelledClip("dev_beat_says_milk", "speech-with-word", True,
                     _speech_clip(("milk for everyone", "en-us+f2", 150), lambda: beat(1))),
        LabelledClip("dev_music_speech", "speech", False,
                     _speech_clip(("I want pizza right now", "en-us+klatt", 160), lambda: melody(4))),
        LabelledClip("dev_beat_speech", "speech", False,
                     _speech_clip(("juice for everyone", "en-us+f2", 150), lambda: beat(1))),
        LabelledClip("dev_chord_major", "music", False, lambda: chord((261.6, 329.6, 392.0), pulse=2.0)),
        LabelledClip("dev_chord_minor", "music", False, lambda: chord((220.0, 261.6, 329.6, 440.0))),
        LabelledClip("dev_melody_1", "music", False, lambda: melody(1)),
        LabelledClip("dev_melody_2", "music", False, lambda: melody(2)),
        LabelledClip("dev_melody_fast", "music", False, lambda: melody(3, notes_per_second=8)),
        LabelledClip("dev_beat", "music", False, lambda: beat(2)),
        LabelledClip("dev_silence", "silence", False, lambda: np.zeros(3 * SAMPLE_RATE, np.float32)),
        LabelledClip("dev_silence_short", "silence", False, lambda: np.zeros(SAMPLE_RATE, np.float32)),
        LabelledClip("dev_noise_white", "noise", False, lambda: noise("white")),
        LabelledClip("dev_noise_brown", "noise", False, lambda: noise("brown")),
        LabelledClip("dev_noise_hum", "noise", False, lambda: noise("hum")),
        LabelledClip("dev_noise_loud", "noise", False, lambda: noise("white", amplitude=0.8)),
        LabelledClip("dev_tone", "noise", False, lambda: chord((440.0,))),
        LabelledClip("dev_hiss", "noise", False, lambda: noise("white", amplitude=0.01)),
    ]  # fmt: skip
    return clips


def second_development_set() -> list[LabelledClip]:
    """34 clips like ``development_set`` from other sentences, voices, speeds and seeds."""
    clips = _speech_clips("dev2_", _DEV2_WITH, _DEV2_WITHOUT)
    clips += [
        LabelledClip("dev2_music_says_milk", "speech-with-word", True,
                     _speech_clip(("pass me the milk", "en-us+klatt2", 150), lambda: melody(14))),
        LabelledClip("dev2_beat_says_milk", "speech-with-word", True,
                     _speech_clip(("strawberry milk tastes sweet", "en-gb+m3", 160), lambda: beat(15, bpm=96))),
        LabelledClip("dev2_music_speech", "speech", False,
                     _speech_clip(("pass me the salt", "en-us+klatt2", 150), lambda: melody(14))),
        LabelledClip("dev2_beat_speech", "speech", False,
                     _speech_clip(("strawberry jam tastes sweet", "en-gb+m3", 160), lambda: beat(15, bpm=96))),
        LabelledClip("dev2_chord_seventh", "music", False, lambda: chord((196.0, 246.9, 293.7, 349.2), pulse=3.0)),
        LabelledClip("dev2_chord_fifth", "music", False, lambda: chord((146.8, 220.0, 293.7), seconds=4.0)),
        LabelledClip("dev2_melody_11", "music", False, lambda: melody(11)),
        LabelledClip("dev2_melody_12", "music", False, lambda: melody(12, seconds=4.0, notes_per_second=3)),
        LabelledClip("dev2_melody_13", "music", False, lambda: melody(13, notes_per_second=6)),
        LabelledClip("dev2_beat", "music", False, lambda: beat(16, seconds=4.0, bpm=140)),
        LabelledClip("dev2_silence", "silence", False, lambda: np.zeros(4 * SAMPLE_RATE, np.float32)),
        LabelledClip("dev2_silence_2s", "silence", False, lambda: np.zeros(2 * SAMPLE_RATE, np.float32)),
        LabelledClip("dev2_noise_white", "noise", False, lambda: noise("white", seed=5, amplitude=0.3)),
        LabelledClip("dev2_noise_brown", "noise", False, lambda: noise("brown", seed=6, seconds=4.0)),
        LabelledClip("dev2_noise_hum", "noise", False, lambda: noise("hum", seed=7, amplitude=0.4)),
        LabelledClip("dev2_noise_quiet", "noise", False, lambda: noise("brown", seed=8, amplitude=0.05)),
        LabelledClip("dev2_tone", "noise", False, lambda: chord((523.3,), seconds=2.5)),
        LabelledClip("dev2_hiss", "noise", False, lambda: noise("white", seed=9, amplitude=0.02)),
    ]  # fmt: skip
    return clips


def third_development_set() -> list[LabelledClip]:
    """34 clips like ``development_set`` from sentences, voices, speeds and seeds used in neither set
    above."""
    clips = _speech_clips("dev3_", _DEV3_WITH, _DEV3_WITHOUT)
    clips += [
        LabelledClip("dev3_music_says_milk", "speech-with-word", True,
                     _speech_clip(("I need more milk", "en-us-nyc+m7", 150), lambda: melody(21))),
        LabelledClip("dev3_beat_says_milk", "speech-with-word", True,
                     _speech_clip(("milk shakes for the whole team", "en-gb-x-gbclan+klatt", 155),
                                  lambda: beat(22, bpm=110))),
        LabelledClip("dev3_music_speech", "speech", False,
                     _speech_clip(("I need more time", "en-us-nyc+m7", 150), lambda: melody(21))),
        LabelledClip("dev3_beat_speech", "speech", False,
                     _speech_clip(("mixed drinks for the whole team", "en-gb-x-gbclan+klatt", 155),
                                  lambda: beat(22, bpm=110))),
        LabelledClip("dev3_chord_triad", "music", False, lambda: chord((174.6, 220.0, 261.6), seconds=3.5, pulse=1.5)),
        LabelledClip("dev3_chord_ninth", "music", False, lambda: chord((233.1, 293.7, 349.2, 440.0), seconds=2.5)),
        LabelledClip("dev3_melody_23", "music", False, lambda: melody(23)),
        LabelledClip("dev3_melody_24", "music", False, lambda: melody(24, seconds=5.0, notes_per_second=5)),
        LabelledClip("dev3_melody_25", "music", False, lambda: melody(25, notes_per_second=2)),
        LabelledClip("dev3_beat", "music", False, lambda: beat(26, seconds=3.5, bpm=80)),
        LabelledClip("dev3_silence", "silence", False, lambda: np.zeros(int(3.5 * SAMPLE_RATE), np.float32)),
        LabelledClip("dev3_silence_short", "silence", False, lambda: np.zeros(int(1.5 * SAMPLE_RATE), np.float32)),
        LabelledClip("dev3_noise_white", "noise", False, lambda: noise("white", seed=11, amplitude=0.15)),
        LabelledClip("dev3_noise_brown", "noise", False, lambda: noise("brown", seed=12, amplitude=0.3)),
        LabelledClip("dev3_noise_hum", "noise", False, lambda: noise("hum", seed=13, seconds=3.5)),
        LabelledClip("dev3_noise_loud", "noise", False, lambda: noise("white", seed=14, seconds=2.0, amplitude=0.5)),
        LabelledClip("dev3_tone", "noise", False, lambda: chord((880.0,), seconds=3.0)),
        LabelledClip("dev3_hiss", "noise", False, lambda: noise("white", seed=15, amplitude=0.015)),
    ]  # fmt: skip
    return clips


# The held-out set: sentences, voices (espeak-ng variants the word model never trained on), speeds
# and seeds used in no development set nor in training; checked once, after every choice was made.
_HELD_WITH: list[Speech] = [
    ("the cereal needs more milk", "en-us+john", 150),
    ("she warmed the milk for the baby", "en-gb+linda", 160),
    ("milk goes in the fridge", "en-029+travis", 165),
    ("would you like milk or sugar", "en-us-nyc+belinda", 140),
    ("the farmer sells milk at the market", "en-gb-scotland+m6", 155),
    ("my sister only drinks oat milk", "en-gb-x-rp+Annie", 160),
    ("we had milk and toast for breakfast", "en-us+quincy", 175),
    ("don't cry over spilt milk", "en-gb-x-gbcwmd+m8", 145),
    ("a tall glass of milk", "en-us+steph2", 130),
    ("the kitten found the milk bowl", "en-gb-x-gbclan+Andy", 185),
]
_HELD_WITHOUT: list[Speech] = [
    ("the cereal needs more sugar", "en-us+john", 150),
    ("she warmed the soup for the baby", "en-gb+linda", 160),
    ("the silk scarf goes in the drawer", "en-029+travis", 165),  # "silk" sounds close to "milk"
    ("would you like tea or coffee", "en-us-nyc+belinda", 140),
    ("the farmer sells eggs at the market", "en-gb-scotland+m6", 155),
    ("my sister only drinks green tea", "en-gb-x-rp+Annie", 160),
    ("we walked to the old mill for breakfast", "en-us+quincy", 175),  # "mill"
    ("the snow will melt by tomorrow", "en-gb-x-gbcwmd+m8", 145),  # "melt"
    ("a tall glass of lemonade", "en-us+steph2", 130),
    ("he filmed the kitten with his phone", "en-gb-x-gbclan+Andy", 185),  # "filmed"
]


def held_out_set() -> list[LabelledClip]:
    """38 clips like ``development_set``: 10 speech with "milk", 10 without, 2 of each over music, 6
    music, 2 silence, 6 noise, from sentences, voices, speeds and seeds used in no development set."""
    clips = _speech_clips("held_", _HELD_WITH, _HELD_WITHOUT)
    clips += [
        LabelledClip("held_music_says_milk", "speech-with-word", True,
                     _speech_clip(("bring home some milk tonight", "en-us+Annie", 150), lambda: melody(31))),
        LabelledClip("held_beat_says_milk", "speech-with-word", True,
                     _speech_clip(("milk in my coffee please", "en-gb+john", 160), lambda: beat(32, bpm=100))),
        LabelledClip("held_music_speech", "speech", False,
                     _speech_clip(("bring home some bread tonight", "en-us+Annie", 150), lambda: melody(31))),
        LabelledClip("held_beat_speech", "speech", False,
                     _speech_clip(("cream in my coffee please", "en-gb+john", 160), lambda: beat(32, bpm=100))),
        LabelledClip("held_chord_seventh", "music", False,
                     lambda: chord((130.8, 164.8, 196.0, 246.9), seconds=3.0, pulse=2.5)),
        LabelledClip("held_chord_sharp", "music", False, lambda: chord((185.0, 233.1, 277.2), seconds=4.5)),
        LabelledClip("held_melody_33", "music", False, lambda: melody(33)),
        LabelledClip("held_melody_34", "music", False, lambda: melody(34, seconds=4.0, notes_per_second=7)),
        LabelledClip("held_melody_35", "music", False, lambda: melody(35, seconds=2.5, notes_per_second=3)),
        LabelledClip("held_beat", "music", False, lambda: beat(36, seconds=3.0, bpm=150)),
        LabelledClip("held_silence", "silence", False, lambda: np.zeros(int(2.5 * SAMPLE_RATE), np.float32)),
        LabelledClip("held_silence_short", "silence", False, lambda: np.zeros(int(1.2 * SAMPLE_RATE), np.float32)),
        LabelledClip("held_noise_white", "noise", False, lambda: noise("white", seed=21, amplitude=0.25)),
        LabelledClip("held_noise_brown", "noise", False, lambda: noise("brown", seed=22, amplitude=0.1)),
        LabelledClip("held_noise_hum", "noise", False, lambda: noise("hum", seed=23, amplitude=0.6)),
        LabelledClip("held_noise_loud", "noise", False, lambda: noise("white", seed=24, seconds=2.5, amplitude=0.7)),
        LabelledClip("held_tone", "noise", False, lambda: chord((330.0,), seconds=3.5)),
        LabelledClip("held_hiss", "noise", False, lambda: noise("white", seed=25, amplitude=0.03)),
    ]  # fmt: skip
    return clips


# The second held-out set: sentences, espeak-ng voice variants (used in no set above and in no training
# of the phone model), speeds and seeds of its own; checked once, after every choice was made.
_HELD2_WITH: list[Speech] = [
    ("there is no milk in this house", "en-us+Alicia", 138),
    ("the milk truck comes on tuesday", "en-gb+aunty", 147),
    ("he poured milk over his oats", "en-029+edward2", 152),
    ("warm milk helps me fall asleep", "en-us-nyc+Gene2", 158),
    ("goats give milk too", "en-gb-x-rp+Henrique", 163),
    ("the recipe calls for two cups of milk", "en-gb-scotland+iven3", 168),
    ("did you remember the milk", "en-us+marcelo", 172),
    ("a milk moustache on her lip", "en-gb-x-gbcwmd+Michael", 143),
    ("skim milk is lighter", "en-gb-x-gbclan+norbert", 177),
    ("the puppy drank all the milk", "en-us+steph3", 133),
]
_HELD2_WITHOUT: list[Speech] = [
    ("there is no bread in this house", "en-us+Alicia", 138),
    ("the mail truck comes on tuesday", "en-gb+aunty", 147),  # "mail" sounds close to "milk"
    ("he poured honey over his oats", "en-029+edward2", 152),
    ("a warm meal helps me fall asleep", "en-us-nyc+Gene2", 158),  # "meal"
    ("goats climb the hill too", "en-gb-x-rp+Henrique", 163),  # "hill"
    ("the recipe calls for two cups of flour", "en-gb-scotland+iven3", 168),
    ("did you remember the mint", "en-us+marcelo", 172),  # "mint"
    ("a thin moustache on his lip", "en-gb-x-gbcwmd+Michael", 143),
    ("the kilt is lighter", "en-gb-x-gbclan+norbert", 177),  # "kilt"
    ("the puppy walked all the way home", "en-us+steph3", 133),  # "walk"
]


def second_held_out_set() -> list[LabelledClip]:
    """38 clips like ``held_out_set``: 10 speech with "milk", 10 without, 2 of each over music, 6
    music, 2 silence, 6 noise, from sentences, voice variants, speeds and seeds used in no set above."""
    clips = _speech_clips("held2_", _HELD2_WITH, _HELD2_WITHOUT)
    clips += [
        LabelledClip("held2_music_says_milk", "speech-with-word", True,
                     _speech_clip(("save some milk for me", "en-gb+Gene2", 148), lambda: melody(41))),
        LabelledClip("held2_beat_says_milk", "speech-with-word", True,
                     _speech_clip(("milk is on the list", "en-us+Henrique", 157), lambda: beat(42, bpm=124))),
        LabelledClip("held2_music_speech", "speech", False,
                     _speech_clip(("save some soup for me", "en-gb+Gene2", 148), lambda: melody(41))),
        LabelledClip("held2_beat_speech", "speech", False,
                     _speech_clip(("the film is on tonight", "en-us+Henrique", 157), lambda: beat(42, bpm=124))),
        LabelledClip("held2_chord_sixth", "music", False,
                     lambda: chord((164.8, 207.7, 246.9, 277.2), seconds=3.2, pulse=1.2)),
        LabelledClip("held2_chord_open", "music", False, lambda: chord((98.0, 146.8, 196.0), seconds=2.8)),
        LabelledClip("held2_melody_43", "music", False, lambda: melody(43, seconds=3.5)),
        LabelledClip("held2_melody_44", "music", False, lambda: melody(44, seconds=3.0, notes_per_second=5)),
        LabelledClip("held2_melody_45", "music", False, lambda: melody(45, seconds=4.5, notes_per_second=2)),
        LabelledClip("held2_beat", "music", False, lambda: beat(46, seconds=3.5, bpm=90)),
        LabelledClip("held2_silence", "silence", False, lambda: np.zeros(int(3.2 * SAMPLE_RATE), np.float32)),
        LabelledClip("held2_silence_short", "silence", False, lambda: np.zeros(int(0.9 * SAMPLE_RATE), np.float32)),
        LabelledClip("held2_noise_white", "noise", False, lambda: noise("white", seed=51, amplitude=0.35)),
        LabelledClip("held2_noise_brown", "noise", False, lambda: noise("brown", seed=52, amplitude=0.2)),
        LabelledClip("held2_noise_hum", "noise", False, lambda: noise("hum", seed=53, amplitude=0.3)),
        LabelledClip("held2_noise_loud", "noise", False, lambda: noise("white", seed=54, seconds=3.0, amplitude=0.9)),
        LabelledClip("held2_tone", "noise", False, lambda: chord((440.0,), seconds=2.2)),
        LabelledClip("held2_hiss", "noise", False, lambda: noise("white", seed=55, amplitude=0.01)),
    ]  # fmt: skip
    return clips


FliteSpeech = tuple[str, str, float]  # text, flite voice, duration stretch
FLITE_VOICES = ("kal", "awb", "rms", "slt", "kal16")  # awb, rms, slt: clustergen voices of real speakers

# The flite set: another synthesizer, with sentences used in no other set; two of each kind per voice.
# It was written when every model here had heard espeak-ng only; the phone model has since trained on
# flite's voices kal, awb and kal16 (never rms or slt), so it is now a development set.
_FLITE_WITH: list[FliteSpeech] = [
    ("my grandma keeps milk in a blue jug", "kal", 1.0),
    ("the milk went sour overnight", "kal", 1.15),
    ("we need milk for the pancakes", "awb", 1.0),
    ("he carried the milk up the stairs", "awb", 0.9),
    ("the shop had no milk this morning", "rms", 1.0),
    ("she stirred milk into the soup", "rms", 1.2),
    ("this milk tastes a little strange", "slt", 1.0),
    ("leave the milk on the doorstep", "slt", 0.9),
    ("a jug of milk sat on the bench", "kal16", 1.0),
    ("I spilled milk on my homework", "kal16", 1.1),
]
_FLITE_WITHOUT: list[FliteSpeech] = [
    ("my grandma keeps flowers in a blue jug", "kal", 1.0),
    ("the bill went up overnight", "kal", 1.15),  # "bill" sounds close to "milk"
    ("we need flour for the pancakes", "awb", 1.0),
    ("he carried the silk up the stairs", "awb", 0.9),  # "silk"
    ("the shop had no mail this morning", "rms", 1.0),  # "mail"
    ("she stirred salt into the soup", "rms", 1.2),
    ("this film looks a little strange", "slt", 1.0),  # "film"
    ("leave the meal on the doorstep", "slt", 0.9),  # "meal"
    ("a pile of books sat on the bench", "kal16", 1.0),
    ("I spilled ink on my homework", "kal16", 1.1),  # "spilled ink"
]


def _flite_clip(spec: FliteSpeech, music: Callable[[], np.ndarray] | None = None) -> Callable[[], np.ndarray]:
    return _said(flite_speech, spec, music)


def flite_set() -> list[LabelledClip]:
    """38 clips like ``held_out_set`` spoken by flite's 5 voices (needs ``flite_available()``): 10
    speech with "milk", 10 without, 2 of each over music, 6 music, 2 silence, 6 noise."""
    clips = _speech_clips("flite_", _FLITE_WITH, _FLITE_WITHOUT, _flite_clip)
    clips += [
        LabelledClip("flite_music_says_milk", "speech-with-word", True,
                     _flite_clip(("turn up the music and grab the milk", "rms", 1.0), lambda: melody(61))),
        LabelledClip("flite_beat_says_milk", "speech-with-word", True,
                     _flite_clip(("milk and honey for the guests", "slt", 1.0), lambda: beat(62, bpm=116))),
        LabelledClip("flite_music_speech", "speech", False,
                     _flite_clip(("turn up the music and grab the snacks", "rms", 1.0), lambda: melody(61))),
        LabelledClip("flite_beat_speech", "speech", False,
                     _flite_clip(("silk and linen for the guests", "slt", 1.0), lambda: beat(62, bpm=116))),
        LabelledClip("flite_chord_low", "music", False, lambda: chord((110.0, 138.6, 164.8), seconds=3.0, pulse=1.8)),
        LabelledClip("flite_chord_high", "music", False, lambda: chord((392.0, 493.9, 587.3), seconds=2.6)),
        LabelledClip("flite_melody_63", "music", False, lambda: melody(63)),
        LabelledClip("flite_melody_64", "music", False, lambda: melody(64, seconds=3.8, notes_per_second=6)),
        LabelledClip("flite_melody_65", "music", False, lambda: melody(65, seconds=2.8, notes_per_second=3)),
        LabelledClip("flite_beat", "music", False, lambda: beat(66, seconds=3.2, bpm=132)),
        LabelledClip("flite_silence", "silence", False, lambda: np.zeros(int(2.7 * SAMPLE_RATE), np.float32)),
        LabelledClip("flite_silence_short", "silence", False, lambda: np.zeros(int(1.1 * SAMPLE_RATE), np.float32)),
        LabelledClip("flite_noise_white", "noise", False, lambda: noise("white", seed=61, amplitude=0.2)),
        LabelledClip("flite_noise_brown", "noise", False, lambda: noise("brown", seed=62, amplitude=0.25)),
        LabelledClip("flite_noise_hum", "noise", False, lambda: noise("hum", seed=63, amplitude=0.5)),
        LabelledClip("flite_noise_loud", "noise", False, lambda: noise("white", seed=64, seconds=2.4, amplitude=0.75)),
        LabelledClip("flite_tone", "noise", False, lambda: chord((660.0,), seconds=2.9)),
        LabelledClip("flite_hiss", "noise", False, lambda: noise("white", seed=65, amplitude=0.02)),
    ]  # fmt: skip
    return clips


# The held-out flite set: flite's voices slt and rms only (voices kept out of any training), with
# sentences, speeds and seeds used in no other set; checked once, after every choice was made.
_FLITE_HELD_WITH: list[FliteSpeech] = [
    ("my uncle drinks milk after dinner", "slt", 1.0),
    ("the milk carton is almost empty", "rms", 1.0),
    ("we poured milk for the kittens", "slt", 1.1),
    ("grandpa likes his milk very cold", "rms", 0.9),
    ("there is milk on your chin", "slt", 0.95),
    ("the bakery uses milk in every loaf", "rms", 1.15),
    ("ask the neighbours for some milk", "slt", 1.05),
    ("milk spilled across the kitchen floor", "rms", 1.0),
    ("they sell goat milk at the fair", "slt", 1.2),
    ("a cup of warm milk before sleep", "rms", 1.1),
]
_FLITE_HELD_WITHOUT: list[FliteSpeech] = [
    ("my uncle drinks water after dinner", "slt", 1.0),
    ("the mill wheel is almost still", "rms", 1.0),  # "mill" sounds close to "milk"
    ("we poured juice for the children", "slt", 1.1),
    ("grandpa likes his silk ties", "rms", 0.9),  # "silk"
    ("there is a smear on your chin", "slt", 0.95),
    ("the bakery uses yeast in every loaf", "rms", 1.15),
    ("ask the neighbours to fill the pool", "slt", 1.05),  # "fill"
    ("the ice melted across the kitchen floor", "rms", 1.0),  # "melted"
    ("they sell warm quilts at the fair", "slt", 1.2),  # "quilts"
    ("a cup of green tea before sleep", "rms", 1.1),
]


def flite_held_out_set() -> list[LabelledClip]:
    """38 clips like ``flite_set`` spoken by flite's slt and rms only, from sentences, speeds and
    seeds used in no other set (needs ``flite_available()``)."""
    clips = _speech_clips("flite_held_", _FLITE_HELD_WITH, _FLITE_HELD_WITHOUT, _flite_clip)
    clips += [
        LabelledClip("flite_held_music_says_milk", "speech-with-word", True,
                     _flite_clip(("bring the milk to the picnic", "slt", 1.0), lambda: melody(71))),
        LabelledClip("flite_held_beat_says_milk", "speech-with-word", True,
                     _flite_clip(("milk for the little ones", "rms", 1.05), lambda: beat(72, bpm=104))),
        LabelledClip("flite_held_music_speech", "speech", False,
                     _flite_clip(("bring the rug to the picnic", "slt", 1.0), lambda: melody(71))),
        LabelledClip("flite_held_beat_speech", "speech", False,
                     _flite_clip(("film for the little ones", "rms", 1.05), lambda: beat(72, bpm=104))),
        LabelledClip("flite_held_chord_wide", "music", False, lambda: chord((87.3, 174.6, 261.6, 349.2), seconds=3.3)),
        LabelledClip("flite_held_chord_pulse", "music", False, lambda: chord((207.7, 261.6, 311.1), pulse=2.2)),
        LabelledClip("flite_held_melody_73", "music", False, lambda: melody(73, seconds=3.4)),
        LabelledClip("flite_held_melody_74", "music", False, lambda: melody(74, seconds=2.6, notes_per_second=6)),
        LabelledClip("flite_held_melody_75", "music", False, lambda: melody(75, seconds=4.2, notes_per_second=3)),
        LabelledClip("flite_held_beat", "music", False, lambda: beat(76, seconds=3.6, bpm=88)),
        LabelledClip("flite_held_silence", "silence", False, lambda: np.zeros(int(2.9 * SAMPLE_RATE), np.float32)),
        LabelledClip("flite_held_silence_1s", "silence", False, lambda: np.zeros(SAMPLE_RATE, np.float32)),
        LabelledClip("flite_held_noise_white", "noise", False, lambda: noise("white", seed=71, amplitude=0.3)),
        LabelledClip("flite_held_noise_brown", "noise", False, lambda: noise("brown", seed=72, amplitude=0.15)),
        LabelledClip("flite_held_noise_hum", "noise", False, lambda: noise("hum", seed=73, amplitude=0.45)),
        LabelledClip("flite_held_noise_loud", "noise", False, lambda: noise("white", seed=74, amplitude=0.8)),
        LabelledClip("flite_held_tone", "noise", False, lambda: chord((587.3,), seconds=2.7)),
        LabelledClip("flite_held_hiss", "noise", False, lambda: noise("white", seed=75, amplitude=0.025)),
    ]  # fmt: skip
    return clips


FestivalSpeech = tuple[str, str, float]  # text, festival voice (a key of FESTIVAL_VOICES), duration stretch

# The festival set: a third synthesizer, festival, which no training and no tuning here ever used, with
# two voices of real speakers (ked, a diphone voice; slt_hts, an HTS voice) and sentences of its own;
# written before any model was trained on more voices, checked once per finished candidate.
_FESTIVAL_WITH: list[FestivalSpeech] = [
    ("my neighbour brings us milk every friday", "ked", 1.0),
    ("the milk bottle rolled under the car", "slt_hts", 1.0),
    ("we mixed milk and flour for the batter", "ked", 1.15),
    ("the farmer sells milk at the gate", "slt_hts", 1.0),
    ("put the milk back in the fridge please", "ked", 0.9),
    ("my little brother hates milk", "slt_hts", 1.0),
    ("there was a fly in the milk", "ked", 1.05),
    ("the cafe ran short of milk", "slt_hts", 1.0),
    ("oat milk costs more than cow milk", "ked", 1.2),
    ("she warmed the milk on the stove", "slt_hts", 1.0),
]
_FESTIVAL_WITHOUT: list[FestivalSpeech] = [
    ("my neighbour brings us mail every friday", "ked", 1.0),  # "mail" sounds close to "milk"
    ("the film reel rolled under the car", "slt_hts", 1.0),  # "film"
    ("we mixed sugar and flour for the batter", "ked", 1.15),
    ("the farmer built a mill by the gate", "slt_hts", 1.0),  # "built", "mill"
    ("put the silk scarf back in the drawer please", "ked", 0.9),  # "silk"
    ("my little brother hates spinach", "slt_hts", 1.0),
    ("there was a fly in the soup", "ked", 1.05),
    ("the cafe served a hot meal", "slt_hts", 1.0),  # "meal"
    ("the mild cheese costs more than the sharp one", "ked", 1.2),  # "mild"
    ("she filled the kettle on the stove", "slt_hts", 1.0),  # "filled"
]


def _festival_clip(spec: FestivalSpeech, music: Callable[[], np.ndarray] | None = None) -> Callable[[], np.ndarray]:
    return _said(festival_speech, spec, music)


def festival_set() -> list[LabelledClip]:
    """38 clips like ``flite_held_out_set`` spoken by festival's voices ked and slt_hts (needs
    ``festival_available()``): 10 speech with "milk", 10 without (near-misses: "mail", "film", "mill",
    "silk", "meal", "mild", "filled"), 2 of each over music, 6 music, 2 silence, 6 noise."""
    clips = _speech_clips("festival_", _FESTIVAL_WITH, _FESTIVAL_WITHOUT, _festival_clip)
    clips += [
        LabelledClip("festival_music_says_milk", "speech-with-word", True,
                     _festival_clip(("pour the milk over the berries", "slt_hts", 1.0), lambda: melody(81))),
        LabelledClip("festival_beat_says_milk", "speech-with-word", True,
                     _festival_clip(("milk for the morning", "ked", 1.0), lambda: beat(82, bpm=100))),
        LabelledClip("festival_music_speech", "speech", False,
                     _festival_clip(("pour the cream over the berries", "slt_hts", 1.0), lambda: melody(81))),
        LabelledClip("festival_beat_speech", "speech", False,
                     _festival_clip(("mail for the morning", "ked", 1.0), lambda: beat(82, bpm=100))),
        LabelledClip("festival_chord_low", "music", False, lambda: chord((98.0, 123.5, 146.8), seconds=3.1, pulse=1.6)),
        LabelledClip("festival_chord_bright", "music", False, lambda: chord((329.6, 415.3, 493.9), seconds=2.7)),
        LabelledClip("festival_melody_83", "music", False, lambda: melody(83, seconds=3.3)),
        LabelledClip("festival_melody_84", "music", False, lambda: melody(84, seconds=2.9, notes_per_second=7)),
        LabelledClip("festival_melody_85", "music", False, lambda: melody(85, seconds=4.1, notes_per_second=2)),
        LabelledClip("festival_beat", "music", False, lambda: beat(86, seconds=3.4, bpm=124)),
        LabelledClip("festival_silence", "silence", False, lambda: np.zeros(int(2.6 * SAMPLE_RATE), np.float32)),
        LabelledClip("festival_silence_short", "silence", False, lambda: np.zeros(int(1.3 * SAMPLE_RATE), np.float32)),
        LabelledClip("festival_noise_white", "noise", False, lambda: noise("white", seed=81, amplitude=0.28)),
        LabelledClip("festival_noise_brown", "noise", False, lambda: noise("brown", seed=82, amplitude=0.18)),
        LabelledClip("festival_noise_hum", "noise", False, lambda: noise("hum", seed=83, amplitude=0.35)),
        LabelledClip("festival_noise_loud", "noise", False, lambda: noise("white", seed=84, amplitude=0.85)),
        LabelledClip("festival_tone", "noise", False, lambda: chord((392.0,), seconds=3.0)),
        LabelledClip("festival_hiss", "noise", False, lambda: noise("white", seed=85, amplitude=0.015)),
    ]  # fmt: skip
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
