"""The labelled speech sets of ``tests/speech_support.py`` are what they claim: the flite set speaks
with every flite voice, the held-out flite and festival sets only with voices kept out of training,
and no sentence of one set is spoken in another."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from tests import speech_support
from tests.speech_support import (
    FESTIVAL_VOICES,
    FLITE_VOICES,
    SAMPLE_RATE,
    festival_available,
    festival_set,
    festival_speech,
    flite_available,
    flite_held_out_set,
    flite_set,
    flite_speech,
)

SUPPORT = Path(speech_support.__file__).read_text()


def _sentences(variable: str) -> list[str]:
    block = re.search(rf"^{variable}: list\[\w+\] = \[(.*?)^\]", SUPPORT, re.M | re.S)
    assert block, variable
    return re.findall(r'\(\s*"([^"]+)",', block.group(1))


def test_no_sentence_is_spoken_in_two_sets() -> None:
    sets = re.findall(r"^(_[A-Z0-9_]+): list\[", SUPPORT, re.M)
    assert "_FLITE_WITH" in sets and "_HELD2_WITHOUT" in sets
    seen: dict[str, str] = {}
    for name in sets:
        for sentence in _sentences(name):
            assert sentence.lower() not in seen, f"{sentence!r} is in {seen.get(sentence.lower())} and {name}"
            seen[sentence.lower()] = name


def test_the_flite_set_speaks_with_every_flite_voice_twice_each_way() -> None:
    for variable in ("_FLITE_WITH", "_FLITE_WITHOUT"):
        voices = [voice for _, voice, _ in getattr(speech_support, variable)]
        assert sorted(voices) == sorted(2 * FLITE_VOICES), variable
    clips = flite_set()
    assert len(clips) == 38 and sum(c.says_milk for c in clips) == 12


def test_the_held_out_flite_set_speaks_only_with_the_voices_kept_out_of_training() -> None:
    from benchmarks.train_phone_model import labelled_set_speech

    for variable in ("_FLITE_HELD_WITH", "_FLITE_HELD_WITHOUT"):
        assert {voice for _, voice, _ in getattr(speech_support, variable)} == {"slt", "rms"}, variable
    clips = flite_held_out_set()
    assert len(clips) == 38 and sum(c.says_milk for c in clips) == 12
    banned, _ = labelled_set_speech()  # training leaves out every labelled sentence, flite's too
    assert {s.lower() for s in _sentences("_FLITE_HELD_WITH") + _sentences("_FLITE_WITH")} <= banned


@pytest.mark.skipif(not flite_available(), reason="flite makes the out-of-domain clips: apt-get install flite")
def test_flite_speech_is_16khz_audio_padded_with_silence() -> None:
    samples = flite_speech("a glass of milk", "slt", 1.1)
    pad = SAMPLE_RATE // 4
    assert samples.dtype == np.float32 and len(samples) > 2 * pad + SAMPLE_RATE // 2
    assert not samples[:pad].any() and not samples[-pad:].any()
    assert np.abs(samples[pad:-pad]).max() > 0.05


def test_the_festival_set_speaks_with_both_festival_voices_and_no_training_uses_its_sentences() -> None:
    from benchmarks.train_phone_model import labelled_set_speech

    for variable in ("_FESTIVAL_WITH", "_FESTIVAL_WITHOUT"):
        voices = [voice for _, voice, _ in getattr(speech_support, variable)]
        assert sorted(voices) == sorted(5 * list(FESTIVAL_VOICES)), variable
    clips = festival_set()
    assert len(clips) == 38 and sum(c.says_milk for c in clips) == 12
    assert len({c.name for c in clips}) == 38
    banned, _ = labelled_set_speech()
    assert {s.lower() for s in _sentences("_FESTIVAL_WITH") + _sentences("_FESTIVAL_WITHOUT")} <= banned


@pytest.mark.skipif(
    not festival_available(),
    reason="festival makes the festival set: apt-get install festival festvox-kdlpc16k festvox-us-slt-hts",
)
@pytest.mark.parametrize("voice", list(FESTIVAL_VOICES))
def test_festival_speech_is_16khz_audio_padded_with_silence(voice: str) -> None:
    samples = festival_speech("a glass of milk", voice)
    pad = SAMPLE_RATE // 4
    assert samples.dtype == np.float32 and len(samples) > 2 * pad + SAMPLE_RATE // 2
    assert not samples[:pad].any() and not samples[-pad:].any()
    assert np.abs(samples[pad:-pad]).max() > 0.05
