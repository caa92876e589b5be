"""The phone model shipped in the package (``milkmobs/data/phones.onnx``), its features, and the
keyword search over its output."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("pocketsphinx")  # its wheel ships the CMU dictionary

from milkmobs.adapters.local.phones import (
    BLANK,
    HOP,
    N_MELS,
    PHONES,
    SAMPLE_RATE,
    KeywordHit,
    PhoneModel,
    keyword_hits,
    log_mel,
    pronunciations,
)

MILK = ("M", "IH", "L", "K")


def test_the_model_file_loads_and_reads_log_mel_features() -> None:
    import onnxruntime

    model = resources.files("milkmobs").joinpath("data", "phones.onnx").read_bytes()
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    (features,) = session.get_inputs()
    assert features.name == "features" and features.shape[2] == N_MELS
    (log_probs,) = session.get_outputs()
    assert log_probs.name == "log_probs" and log_probs.shape[2] == len(PHONES) + 1


def test_one_row_of_log_probabilities_per_20_ms() -> None:
    rng = np.random.default_rng(0)
    for seconds in (0.01, 1.0, 2.5):
        samples = (0.1 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)
        out = PhoneModel().log_probs(samples)
        frames = log_mel(samples).shape[0]
        assert out.shape == (-(-frames // 2), len(PHONES) + 1)
        assert np.allclose(np.exp(out).sum(axis=1), 1.0, atol=1e-3)


def test_features_do_not_depend_on_the_level() -> None:
    rng = np.random.default_rng(1)
    samples = (0.2 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    features = log_mel(samples)
    assert features.shape == (1 + (SAMPLE_RATE - 400) // HOP, N_MELS)
    assert np.allclose(features, log_mel(samples * 0.25), atol=0.05)
    assert np.allclose(features.mean(axis=0), 0.0, atol=1e-4)


def _reading(*spikes: tuple[int, str], steps: int = 30) -> np.ndarray:
    """Log-probabilities of a model sure of ``spikes`` (step, phone) and of the blank elsewhere."""
    out = np.full((steps, len(PHONES) + 1), np.log(1e-4), np.float32)
    out[:, BLANK] = np.log(0.99)
    for step, phone in spikes:
        out[step, BLANK] = np.log(1e-4)
        out[step, PHONES.index(phone)] = np.log(0.99)
    return out


def test_a_word_read_exactly_scores_zero_where_it_is() -> None:
    reading = _reading((3, "G"), (5, "AA"), (7, "T"), (10, "M"), (12, "IH"), (13, "L"), (15, "K"))
    assert keyword_hits(reading, MILK, min_score=-1.0) == [KeywordHit(10, 15, 0.0)]


@pytest.mark.parametrize(
    "spikes",
    [
        ((10, "M"), (12, "IH"), (13, "L")),  # "mill": no K anywhere
        ((10, "S"), (12, "IH"), (13, "L"), (15, "K")),  # "silk"
        ((10, "M"), (12, "EH"), (13, "L"), (15, "T")),  # "melt"
    ],
)
def test_a_word_that_sounds_close_scores_below_the_threshold(spikes: tuple[tuple[int, str], ...]) -> None:
    reading = _reading(*spikes)
    assert keyword_hits(reading, MILK, min_score=-4.0) == []
    assert max(h.score for h in keyword_hits(reading, MILK, min_score=-100.0)) < -4.0


def test_a_repeated_phone_needs_a_blank_between() -> None:
    once = _reading((4, "L"))
    twice = _reading((4, "L"), (6, "L"))
    assert keyword_hits(once, ("L", "L"), min_score=-4.0) == []
    assert keyword_hits(twice, ("L", "L"), min_score=-1.0) == [KeywordHit(4, 6, 0.0)]


def test_each_occurrence_is_one_hit() -> None:
    reading = _reading((3, "M"), (4, "IH"), (5, "L"), (6, "K"), (20, "M"), (21, "IH"), (22, "L"), (24, "K"))
    assert [(h.start, h.end) for h in keyword_hits(reading, MILK, min_score=-1.0)] == [(3, 6), (20, 24)]


def test_pronunciations_come_from_the_cmu_dictionary() -> None:
    found = pronunciations(frozenset({"milk", "read", "milkmob"}))
    assert found["milk"] == (MILK,)
    assert set(found["read"]) == {("R", "EH", "D"), ("R", "IY", "D")}
    assert "milkmob" not in found
