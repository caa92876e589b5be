"""Clustering math on L2-normalised embeddings: pure functions on numpy arrays.

Geometry is cosine: rows and centroids are unit vectors, similarity is a dot product.
Batch clustering is spherical k-means written as float32 matrix multiplies (one GEMM for
the assignment, one for the centroid sums), so BLAS does the heavy lifting and the only
large temporaries are ``n × k`` (never ``n × d``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from milkmobs.domain import Vector

Matrix = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]

#: Rows per block in the assignment step: bounds the n × k temporary for very large n.
_BLOCK_ROWS = 65_536


@dataclass(frozen=True)
class KMeansResult:
    """``inertia`` is the Euclidean sum of squared distances to the clusters' mean points
    (the quantity scikit-learn reports), so the two are comparable."""

    labels: Labels
    centroids: Matrix
    inertia: float
    iterations: int


def _unit_rows(m: Matrix) -> Matrix:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: Matrix = (m / norms).astype(np.float32, copy=False)
    return unit


def nearest_centroid(vector: Vector, centroids: Matrix) -> tuple[int, float]:
    """Index and cosine of the most similar centroid; ``(-1, -inf)`` when there are none. O(k·d)."""
    if centroids.shape[0] == 0:
        return -1, float("-inf")
    sims = centroids @ vector.astype(np.float32, copy=False)
    best = int(np.argmax(sims))
    return best, float(sims[best])


def running_mean_centroid(centroid: Vector, count: int, vector: Vector) -> Vector:
    """The unit centroid after adding ``vector`` to a mob of ``count`` members (running mean, renormalised)."""
    if count <= 0:
        total = vector.astype(np.float32, copy=True)
    else:
        total = centroid.astype(np.float32) * np.float32(count) + vector.astype(np.float32)
    norm = float(np.linalg.norm(total))
    if norm == 0.0:  # exactly opposite vectors cancel: keep the newcomer's direction
        total, norm = vector.astype(np.float32, copy=True), float(np.linalg.norm(vector))
    return (total / norm).astype(np.float32)


def choose_k(n: int) -> int:
    """A default number of mobs for ``n`` videos: about sqrt(n / 2), at least 1, at most n."""
    if n <= 0:
        return 0
    return int(max(1, min(n, round((n / 2) ** 0.5))))


def kmeans_plusplus(x: Matrix, k: int, rng: np.random.Generator, *, local_trials: int | None = None) -> Matrix:
    """Greedy k-means++ seeding (as in scikit-learn): D² sampling with ``2 + ln k`` candidates per step.

    On unit rows the squared Euclidean distance is ``2 - 2·cos``, so each step is one mat-vec.
    """
    n = x.shape[0]
    trials = local_trials if local_trials is not None else 2 + int(np.log(max(k, 1)))
    centers = np.empty((k, x.shape[1]), dtype=np.float32)
    first = int(rng.integers(n))
    centers[0] = x[first]
    closest = np.maximum(2.0 - 2.0 * (x @ centers[0]), 0.0).astype(np.float64)
    potential = float(closest.sum())
    for c in range(1, k):
        if potential <= 0.0:  # every point coincides with a centre: any choice is as good
            centers[c] = x[int(rng.integers(n))]
            continue
        draws = rng.random(trials) * potential
        candidates = np.searchsorted(np.cumsum(closest), draws)
        candidates = np.minimum(candidates, n - 1)
        dist = np.maximum(2.0 - 2.0 * (x @ x[candidates].T), 0.0)  # n × trials
        cand_closest = np.minimum(closest[:, None], dist)
        cand_potential = cand_closest.sum(axis=0)
        best = int(np.argmin(cand_potential))
        centers[c] = x[candidates[best]]
        closest = cand_closest[:, best].astype(np.float64)
        potential = float(cand_potential[best])
    return centers


def _top_two(sims: Matrix) -> tuple[Labels, Matrix, Matrix]:
    """Best label, best similarity and second-best similarity per row of an n × k block."""
    labels = np.argmax(sims, axis=1).astype(np.int64)
    rows = np.arange(sims.shape[0])
    best = sims[rows, labels].copy()
    if sims.shape[1] == 1:
        return labels, best, np.full_like(best, -np.inf)
    sims[rows, labels] = -np.inf
    second = sims.max(axis=1)
    return labels, best, second


def _assign_rows(x: Matrix, rows: npt.NDArray[np.intp] | None, centroids: Matrix) -> tuple[Labels, Matrix, Matrix]:
    """Exact assignment (label, best and second-best cosine) for ``rows`` of ``x`` (all rows if None).

    Works in blocks so the temporaries stay ``block × k``; gathers at most one block of rows at a time.
    """
    count = x.shape[0] if rows is None else rows.shape[0]
    labels = np.empty(count, dtype=np.int64)
    best = np.empty(count, dtype=np.float32)
    second = np.empty(count, dtype=np.float32)
    for start in range(0, count, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, count)
        block = x[start:stop] if rows is None else x[rows[start:stop]]
        labels[start:stop], best[start:stop], second[start:stop] = _top_two(block @ centroids.T)
    return labels, best, second


def _cluster_sums(x: Matrix, labels: Labels, k: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per-cluster row sums (float64) as blocked GEMMs against a one-hot matrix, and the counts."""
    sums = np.zeros((k, x.shape[1]), dtype=np.float64)
    counts = np.bincount(labels, minlength=k).astype(np.int64)
    for start in range(0, x.shape[0], _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, x.shape[0])
        onehot = np.zeros((stop - start, k), dtype=np.float32)
        onehot[np.arange(stop - start), labels[start:stop]] = 1.0
        sums += onehot.T @ x[start:stop]
    return sums, counts


def _move_rows(
    sums: npt.NDArray[np.float64],
    x_rows: Matrix,
    old: Labels,
    new: Labels,
) -> None:
    """In place: move ``x_rows`` from clusters ``old`` to ``new`` in the running sums (one small GEMM)."""
    k = sums.shape[0]
    delta = np.zeros((x_rows.shape[0], k), dtype=np.float32)
    rows = np.arange(x_rows.shape[0])
    delta[rows, new] += 1.0
    delta[rows, old] -= 1.0
    sums += delta.T @ x_rows


def _inertia_from_sums(x: Matrix, sums: npt.NDArray[np.float64], counts: npt.NDArray[np.int64]) -> float:
    """Σ|x|² − Σ_c |sum_c|² / n_c: the squared distances to each cluster's mean point."""
    nonempty = counts > 0
    total = float(np.einsum("ij,ij->", x, x, dtype=np.float64))
    return max(0.0, total - float((np.einsum("ij,ij->i", sums, sums)[nonempty] / counts[nonempty]).sum()))


def euclidean_inertia(x: Matrix, labels: Labels, k: int) -> float:
    """Sum of squared distances to each cluster's mean point (what scikit-learn calls inertia)."""
    sums, counts = _cluster_sums(x, labels, k)
    return _inertia_from_sums(x, sums, counts)


def spherical_kmeans(
    x: Matrix,
    k: int,
    *,
    max_iter: int = 50,
    seed: int = 0,
    tol: float = 1e-4,
    init: Matrix | None = None,
) -> KMeansResult:
    """Spherical k-means with k-means++ seeding on unit rows ``x`` (n × d, float32).

    Exact Lloyd iterations, made cheap in two ways: cluster sums are updated only for rows whose
    label changed, and Hamerly-style bounds skip rows that provably keep their label (a centroid
    that moved by δ changes any unit row's cosine to it by at most δ). Only the remaining rows
    are re-scored, in one GEMM. Stops when no label changes or the summed squared centroid shift
    is below ``tol`` × the data's mean variance (scikit-learn's criterion). Empty clusters are
    re-seeded with the row least similar to its centroid. Deterministic for a given ``seed``.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[0]
    dim = x.shape[1] if x.ndim == 2 else 0
    if n == 0 or k <= 0:
        return KMeansResult(np.zeros(0, dtype=np.int64), np.zeros((0, dim), np.float32), 0.0, 0)
    k = min(k, n)
    rng = np.random.default_rng(seed)
    centroids = _unit_rows(init.astype(np.float32, copy=True)) if init is not None else kmeans_plusplus(x, k, rng)
    # mean per-feature variance without an n × d temporary: (Σ|x|²/n − |mean|²) / d
    mean = x.mean(axis=0, dtype=np.float64)
    variance = (float(np.einsum("ij,ij->", x, x, dtype=np.float64)) / n - float(mean @ mean)) / max(dim, 1)
    tol_abs = float(tol) * variance

    labels, lower, upper = _assign_rows(x, None, centroids)
    sums, counts = _cluster_sums(x, labels, k)
    iterations = 1
    while iterations < max_iter:
        empty = np.flatnonzero(counts == 0)
        for cluster in empty:  # re-seed from the worst-fitting row, then recount exactly
            far = int(np.argmin(lower))
            lower[far] = np.inf
            sums[cluster] = x[far]
        updated = _unit_rows(sums.astype(np.float32))
        moved = np.linalg.norm(updated - centroids, axis=1)
        shift = float(np.sum(moved.astype(np.float64) ** 2))
        centroids = updated
        iterations += 1
        if empty.size:
            labels, lower, upper = _assign_rows(x, None, centroids)
            sums, counts = _cluster_sums(x, labels, k)
            continue
        # bounds: own cosine falls by at most moved[own]; any other cosine rises by at most max(moved)
        lower -= moved[labels]
        upper += moved.max()
        suspects = np.flatnonzero(lower < upper)
        if suspects.size > n // 2:
            new_labels, lower, upper = _assign_rows(x, None, centroids)
            changed = np.flatnonzero(new_labels != labels)
        else:
            sub_labels, sub_lower, sub_upper = _assign_rows(x, suspects, centroids)
            lower[suspects], upper[suspects] = sub_lower, sub_upper
            new_labels = labels.copy()
            new_labels[suspects] = sub_labels
            changed = suspects[sub_labels != labels[suspects]]
        if changed.size:
            _move_rows(sums, x[changed], labels[changed], new_labels[changed])
            counts += np.bincount(new_labels[changed], minlength=k) - np.bincount(labels[changed], minlength=k)
        labels = new_labels
        if changed.size == 0 or shift <= tol_abs:
            break
    return KMeansResult(labels, centroids, _inertia_from_sums(x, sums, counts), iterations)


def match_clusters(new_members: Sequence[Collection[str]], old_members: dict[str, Collection[str]]) -> list[str | None]:
    """For each new cluster, the old mob id it continues (or None for a new mob).

    Greedy on shared members, largest overlap first; each old id is used at most once. With
    k clusters this is O(k² + members) and reproduces the old ids exactly when membership is
    unchanged, which is all stability needs (an optimal assignment buys nothing here).
    """
    owner: dict[str, str] = {}
    for mob_id, members in old_members.items():
        for member in members:
            owner[member] = mob_id
    overlaps: Counter[tuple[int, str]] = Counter()
    for index, members in enumerate(new_members):
        for member in members:
            old = owner.get(member)
            if old is not None:
                overlaps[(index, old)] += 1
    result: list[str | None] = [None] * len(new_members)
    used: set[str] = set()
    for (index, old), _count in sorted(overlaps.items(), key=lambda item: (-item[1], item[0][0], item[0][1])):
        if result[index] is None and old not in used:
            result[index] = old
            used.add(old)
    return result


def describe_mob(
    hashtags: Sequence[Sequence[str]],
    actions: Sequence[Sequence[str]],
    scenes: Sequence[Sequence[str]],
    *,
    common: Collection[str] = (),
) -> tuple[str, str, list[str]]:
    """Name, description and example hashtags from members' most common hashtags, actions and scenes.

    Tags in ``common`` (e.g. the campaign's own tags, which every member carries) are used only
    when nothing more distinctive exists.
    """
    tag_counts = Counter(tag for tags in hashtags for tag in dict.fromkeys(tags))
    action_counts = Counter(a.strip().lower() for items in actions for a in dict.fromkeys(items) if a.strip())
    scene_counts = Counter(s.strip().lower() for items in scenes for s in dict.fromkeys(items) if s.strip())
    ranked = [tag for tag, _ in sorted(tag_counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    distinctive = [tag for tag in ranked if tag not in set(common)] or ranked
    top_action = _top(action_counts)
    top_scene = _top(scene_counts)
    if distinctive:
        name = " ".join(f"#{tag}" for tag in distinctive[:2])
    elif top_action:
        name = top_action.title()
    elif top_scene:
        name = top_scene.title()
    else:
        name = "New mob"
    # No member count in the text: it lives in videoCount, and would go stale as members join.
    parts = []
    if top_action:
        parts.append(f"mostly {top_action}")
    if top_scene:
        parts.append(f"in {top_scene}")
    if distinctive:
        parts.append("tagged " + ", ".join(f"#{t}" for t in distinctive[:3]))
    description = (", ".join(parts) if parts else "videos with no shared tags yet").capitalize()
    return name, description, ranked[:5]


def _top(counts: Counter[str]) -> str | None:
    if not counts:
        return None
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
