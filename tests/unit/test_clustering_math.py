"""Examples for the clustering math; invariants are in tests/property/test_clustering_math.py."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from milkmobs.core.clustering import (
    choose_k,
    describe_mob,
    euclidean_inertia,
    kmeans_plusplus,
    match_clusters,
    nearest_centroid,
    running_mean_centroid,
    spherical_kmeans,
)


def blobs(n: int, dim: int, k: int, seed: int = 0, noise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = rng.integers(k, size=n)
    x = centres[truth] + rng.standard_normal((n, dim)).astype(np.float32) * noise
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), truth


def naive_spherical_lloyd(x: np.ndarray, init: np.ndarray, max_iter: int) -> np.ndarray:
    """Textbook spherical Lloyd: the reference the bounded implementation must reproduce."""
    c = init.copy()
    labels = np.full(x.shape[0], -1)
    for _ in range(max_iter):
        new = np.argmax(x @ c.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(c.shape[0]):
            members = x[labels == j]
            if len(members):
                s = members.sum(axis=0)
                c[j] = s / np.linalg.norm(s)
    return labels


def test_recovers_well_separated_clusters() -> None:
    x, truth = blobs(2000, 32, 6)
    result = spherical_kmeans(x, 6, seed=1)
    assert adjusted_rand_score(truth, result.labels) > 0.99
    assert np.allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)


def test_bounded_iterations_match_textbook_lloyd() -> None:
    x, _ = blobs(1500, 16, 8, seed=3, noise=0.4)
    init = kmeans_plusplus(x, 8, np.random.default_rng(5))
    expected = naive_spherical_lloyd(x, init, 100)
    got = spherical_kmeans(x, 8, init=init, max_iter=100, tol=0.0)
    assert adjusted_rand_score(expected, got.labels) == pytest.approx(1.0)


def test_inertia_is_the_euclidean_inertia_sklearn_reports() -> None:
    x, _ = blobs(800, 8, 4, seed=2, noise=0.3)
    ours = spherical_kmeans(x, 4, seed=0)
    peer = KMeans(4, init=ours.centroids, n_init=1, max_iter=1).fit(x)
    assert euclidean_inertia(x, ours.labels, 4) == pytest.approx(ours.inertia, rel=1e-4)
    assert ours.inertia <= peer.inertia_ * 1.01


def test_more_clusters_than_points_is_capped() -> None:
    x, _ = blobs(3, 4, 1)
    result = spherical_kmeans(x, 10)
    assert result.centroids.shape[0] == 3
    assert sorted(set(result.labels.tolist())) == [0, 1, 2]


def test_empty_input() -> None:
    result = spherical_kmeans(np.zeros((0, 4), np.float32), 3)
    assert result.labels.size == 0 and result.centroids.shape == (0, 4)


def test_nearest_centroid_and_running_mean() -> None:
    assert nearest_centroid(np.ones(3, np.float32), np.zeros((0, 3), np.float32)) == (-1, float("-inf"))
    cents = np.eye(3, dtype=np.float32)
    idx, cos = nearest_centroid(np.array([0.0, 0.6, 0.8], np.float32), cents)
    assert idx == 2 and cos == pytest.approx(0.8)
    c = running_mean_centroid(cents[0], 1, cents[1])
    assert np.allclose(c, np.array([1, 1, 0]) / np.sqrt(2))
    assert np.allclose(running_mean_centroid(cents[0], 1, -cents[0]), -cents[0])


def test_choose_k() -> None:
    assert [choose_k(n) for n in (0, 1, 2, 8, 50, 100_000)] == [0, 1, 1, 2, 5, 224]


def test_match_clusters_keeps_ids_by_membership() -> None:
    old = {"mob_a": {"v1", "v2", "v3"}, "mob_b": {"v4", "v5"}}
    assert match_clusters([{"v4", "v5"}, {"v1", "v2", "v3"}], old) == ["mob_b", "mob_a"]
    # a split: the larger share keeps the id, the rest is new
    assert match_clusters([{"v1"}, {"v2", "v3"}, {"v9"}], old) == [None, "mob_a", None]


def test_describe_mob_prefers_distinctive_tags() -> None:
    name, description, examples = describe_mob(
        [["gotmilk", "gym"], ["gotmilk", "gym", "protein"], ["gotmilk"]],
        [["drinking milk"], ["drinking milk", "lifting"], []],
        [["gym"], ["gym"], ["kitchen"]],
        common={"gotmilk"},
    )
    assert name == "#gym #protein"
    assert description == "Mostly drinking milk, in gym, tagged #gym, #protein"
    assert examples == ["gotmilk", "gym", "protein"]
    assert describe_mob([[]], [[]], [[]])[0] == "New mob"
