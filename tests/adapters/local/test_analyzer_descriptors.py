"""Invariants of the LocalAnalyzer's descriptors (hypothesis), independent of any video file."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from milkmobs.adapters.local import descriptors as desc

frames_strategy = arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(8, 40), st.integers(8, 60), st.just(3)))


def _norm(v: np.ndarray) -> float:
    return float(np.linalg.norm(v))


@settings(max_examples=40, deadline=None)
@given(frames_strategy)
def test_visual_blocks_are_unit_vectors(frames: np.ndarray) -> None:
    visual = desc.visual_descriptor(frames)
    assert visual.colour.shape == (desc.COLOUR_DIM,)
    assert visual.texture.shape == (desc.TEXTURE_DIM,) and visual.motion.shape == (desc.MOTION_DIM,)
    for block in (visual.colour, visual.motion):
        assert _norm(block) == pytest.approx(1.0, abs=1e-5)
    assert _norm(visual.texture) in (pytest.approx(0.0), pytest.approx(1.0, abs=1e-5))  # flat frames: no edges
    assert np.all(visual.colour >= 0) and 0.0 <= visual.brightness <= 1.0


def test_colour_separates_hues_and_tolerates_small_shifts() -> None:
    def solid(bgr: tuple[int, int, int]) -> np.ndarray:
        return np.full((2, 18, 32, 3), bgr, np.uint8)

    orange, red_orange, blue = solid((0, 128, 255)), solid((0, 90, 255)), solid((255, 60, 0))
    colour = {name: desc.visual_descriptor(f).colour for name, f in
              {"orange": orange, "red_orange": red_orange, "blue": blue}.items()}  # fmt: skip
    assert float(colour["orange"] @ colour["red_orange"]) > 0.5
    assert float(colour["orange"] @ colour["blue"]) < 0.05


@settings(max_examples=30, deadline=None)
@given(arrays(np.float32, st.integers(0, 20_000), elements=st.floats(-1, 1, width=32)))
def test_audio_descriptor_is_a_unit_vector_or_empty(samples: np.ndarray) -> None:
    audio = desc.audio_descriptor(samples)
    assert audio.vector.shape == (desc.AUDIO_DIM,) and np.all(np.isfinite(audio.vector))
    assert _norm(audio.vector) == pytest.approx(1.0, abs=1e-5) or (samples.size < 1024 and not audio.vector.any())


def test_audio_tells_a_low_hum_from_a_hiss() -> None:
    t = np.arange(16_000) / 16_000
    hum = desc.audio_descriptor((0.5 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)).vector
    hum2 = desc.audio_descriptor((0.4 * np.sin(2 * np.pi * 120 * t)).astype(np.float32)).vector
    hiss = desc.audio_descriptor(np.random.default_rng(0).uniform(-0.3, 0.3, 16_000).astype(np.float32)).vector
    assert float(hum @ hum2) > 0.8 > 0.5 > float(hum @ hiss)


@given(st.text(min_size=1, max_size=40))
def test_text_descriptor_ignores_case_and_punctuation(text: str) -> None:
    a = desc.text_descriptor([text])
    b = desc.text_descriptor([f"  {text.upper()}!? "])
    if text.upper().lower() == text.lower():  # some characters change length when upper-cased
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert _norm(a) == pytest.approx(1.0, abs=1e-5) or not a.any()


def test_text_pieces_connect_a_word_and_a_hashtag() -> None:
    milk, gotmilk, skate = (desc.text_descriptor([t]) for t in ("milk", "#gotmilk", "skateboard"))
    assert float(milk @ gotmilk) > float(milk @ skate) + 0.1
    assert float(desc.text_descriptor(["GOT MILK?"]) @ gotmilk) > 0.3  # glued pair "gotmilk"


@settings(max_examples=15, deadline=None)
@given(st.sampled_from([desc.RAW_DIM, 256, 300, 512]), st.integers(0, 2**31 - 1))
def test_projection_from_the_raw_size_up_is_an_isometry(dimension: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(desc.RAW_DIM), rng.standard_normal(desc.RAW_DIM)
    pa, pb = desc.project(a, dimension), desc.project(b, dimension)
    assert pa.shape == (dimension,)
    assert float(pa @ pb) == pytest.approx(float(a @ b), rel=1e-4, abs=1e-3)


def test_an_absent_block_stays_zero() -> None:
    text = desc.text_descriptor(["#gotmilk"])
    raw = desc.raw_vector(None, None, text)
    assert _norm(raw[: -desc.TEXT_DIM]) == 0.0
    assert _norm(raw) == pytest.approx(np.sqrt(desc.WEIGHTS["text"]))
    assert sum(desc.WEIGHTS.values()) == pytest.approx(1.0)
