"""Invariants of the clustering math."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from milkmobs.core.clustering import match_clusters, running_mean_centroid, spherical_kmeans


@st.composite
def unit_rows(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 60))
    d = draw(st.integers(2, 8))
    seed = draw(st.integers(0, 2**31 - 1))
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(unit_rows(), st.integers(1, 8), st.integers(0, 1000))
def test_kmeans_labels_are_valid_and_centroids_unit(x: np.ndarray, k: int, seed: int) -> None:
    result = spherical_kmeans(x, k, seed=seed)
    kk = min(k, x.shape[0])
    assert result.labels.shape == (x.shape[0],)
    assert result.labels.min() >= 0 and result.labels.max() < kk
    assert np.allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-4)
    assert result.inertia >= 0.0


@settings(max_examples=60, deadline=None)
@given(unit_rows(), st.integers(1, 6), st.integers(0, 1000))
def test_kmeans_is_deterministic(x: np.ndarray, k: int, seed: int) -> None:
    a = spherical_kmeans(x, k, seed=seed)
    b = spherical_kmeans(x, k, seed=seed)
    assert np.array_equal(a.labels, b.labels)


@settings(max_examples=100, deadline=None)
@given(unit_rows(), st.integers(0, 50))
def test_running_mean_stays_unit(x: np.ndarray, count: int) -> None:
    centroid = x[0]
    for row in x[1:]:
        centroid = running_mean_centroid(centroid, count, row)
        count += 1
        assert abs(float(np.linalg.norm(centroid)) - 1.0) < 1e-5


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sets(st.integers(0, 40).map(str), min_size=1, max_size=8), min_size=1, max_size=8))
def test_unchanged_membership_keeps_every_id(groups: list[set[str]]) -> None:
    # make the groups disjoint, as clusters are
    seen: set[str] = set()
    clusters = []
    for group in groups:
        fresh = group - seen
        seen |= fresh
        if fresh:
            clusters.append(fresh)
    old = {f"mob_{i}": members for i, members in enumerate(clusters)}
    shuffled = list(reversed(clusters))
    matched = match_clusters(shuffled, old)
    assert matched == [f"mob_{len(clusters) - 1 - i}" for i in range(len(clusters))]
    assert len(set(matched)) == len(matched)
