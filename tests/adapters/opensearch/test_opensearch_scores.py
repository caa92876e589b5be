"""OpenSearch ``_score`` → cosine, for every supported engine and space.

The forward formulas below are typed in from the OpenSearch "Spaces" table
(https://docs.opensearch.org/latest/mappings/supported-field-types/knn-spaces/), independently
of both the adapter and the test double.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.opensearch_double.engine import knn_score

from milkmobs.adapters.aws.opensearch import SUPPORTED_SPACES, cosine_from_score
from milkmobs.domain.errors import ConfigurationError

COMBINATIONS = [(engine, space) for engine, spaces in sorted(SUPPORTED_SPACES.items()) for space in sorted(spaces)]


def documented_score(cosine: float, *, engine: str, space: str) -> float:
    """The table's score for two unit vectors whose cosine is ``cosine``."""
    if space == "cosinesimil":
        d = 1 - cosine
        return (2 - d) / 2
    if space == "l2":
        d = 2 - 2 * cosine  # squared Euclidean distance of unit vectors
        return 1 / (1 + d)
    if engine == "lucene":  # d = x . y
        d = cosine
        return d + 1 if d > 0 else 1 / (1 + (-1 * d))
    d = -cosine  # faiss: d = -(x . y)
    return 1 / (1 + d) if d >= 0 else -d + 1


@pytest.mark.parametrize(("engine", "space"), COMBINATIONS)
@pytest.mark.parametrize("cosine", [-1.0, -0.9, -0.5, -0.01, 0.0, 0.01, 0.3, 0.75, 0.99, 1.0])
def test_conversion_inverts_the_documented_score(engine: str, space: str, cosine: float) -> None:
    score = documented_score(cosine, engine=engine, space=space)
    assert cosine_from_score(score, engine=engine, space=space) == pytest.approx(cosine, abs=1e-9)


@pytest.mark.parametrize(("engine", "space"), COMBINATIONS)
def test_conversion_survives_float32_scores(engine: str, space: str) -> None:
    """OpenSearch reports scores as float32; the cosine must still be right to 1e-5."""
    for cosine in np.linspace(-1, 1, 201):
        score = float(np.float32(documented_score(float(cosine), engine=engine, space=space)))
        assert cosine_from_score(score, engine=engine, space=space) == pytest.approx(cosine, abs=1e-5)


def test_raw_scores_are_not_cosines() -> None:
    """Why the conversion exists: used as-is, an innerproduct score of an orthogonal pair reads 1.0."""
    assert documented_score(0.0, engine="faiss", space="innerproduct") == 1.0
    assert documented_score(0.0, engine="lucene", space="cosinesimil") == 0.5


@pytest.mark.parametrize(("engine", "space"), [("nmslib", "l2"), ("faiss", "l1"), ("lucene", "hamming")])
def test_unsupported_combinations_are_refused(engine: str, space: str) -> None:
    with pytest.raises(ConfigurationError):
        cosine_from_score(0.5, engine=engine, space=space)


unit_pairs = st.integers(min_value=0, max_value=2**32 - 1).map(
    lambda seed: tuple(v / np.linalg.norm(v) for v in np.random.default_rng(seed).standard_normal((2, 24)))
)


@settings(max_examples=200, deadline=None)
@given(pair=unit_pairs, combination=st.sampled_from(COMBINATIONS))
def test_double_scores_convert_back_to_the_numpy_cosine(
    pair: tuple[np.ndarray, np.ndarray], combination: tuple[str, str]
) -> None:
    engine, space = combination
    a, b = (v.astype(np.float32) for v in pair)
    score = knn_score(a, b, engine=engine, space=space)
    expected = float(np.dot(a.astype(np.float64), b.astype(np.float64)))
    assert cosine_from_score(score, engine=engine, space=space) == pytest.approx(expected, abs=2e-5)
