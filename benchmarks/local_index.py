"""The local backend's persisted vector index against brute-force numpy and faiss ``IndexFlatIP``.

Run: ``.venv/bin/python benchmarks/local_index.py`` (``--n``/``--dim``/``--queries`` to change the size).

Data: 100,000 × 512 float32 unit vectors from a 50-cluster mixture (embeddings cluster), and
held-out queries from the same mixture. Every method answers the same exact top-10 cosine
queries in the same run:

* ``PersistedVectorIndex`` — ``search`` one query at a time, ``search_many`` for the batch;
* brute-force numpy — ``X @ q`` (``Q @ X.T`` in blocks) then ``argpartition`` + sort; its answers
  are the ground truth for recall;
* faiss ``IndexFlatIP`` on the same unit vectors (inner product = cosine).

The queries are split into ``--rounds`` parts; every method answers each part, in an order that
rotates from part to part, so background load (and faiss's OpenMP threads, which spin a moment
after each call) hits each method alike. Each figure is the median part.
Target: the persisted index at least as fast as faiss for single and batched queries, recall 1.0.

Then mob pruning (``--prune-n`` rows, ``--prune-dim``; 0 skips it): single queries with a mob id per
row, the index skipping mobs that cannot reach the top 10 against the same index scanning every row
(its peer, same run, interleaved), on tight mobs (the served benchmark's data: radius about 20°),
the mixture above (radius about 60°), and uniform vectors in random mobs (nothing can be skipped).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.vector_bounds import MobBounds
from milkmobs.adapters.local.vector_index import PersistedVectorIndex
from milkmobs.ports import IndexedVector

Matrix = npt.NDArray[np.float32]


def mixture(n: int, dim: int, clusters: int, rng: np.random.Generator) -> Matrix:
    """Unit vectors around ``clusters`` random unit centres."""
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(clusters, size=n)] + rng.standard_normal((n, dim)).astype(np.float32) * np.float32(
        1.5 / np.sqrt(dim)
    )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def pruning_report(n: int, dim: int, queries: int, k: int, rng: np.random.Generator) -> None:
    """Mob pruning against the full scan of the same index, on tight, mixed and diffuse embeddings."""
    print(
        f"mob pruning: single top-{k} queries over {n:,} x {dim} with a mob per row, against a full scan "
        "(one BLAS thread; medians of 5 interleaved parts)"
    )
    print(
        f"{'embeddings':<34}{'full q/s':>10}{'pruned q/s':>12}{'ratio':>7}{'rows scored':>13}"
        f"{'same hits':>11}{'score diff':>12}"
    )
    cases = {
        "tight: 5 mobs, radius ~20 deg": (5, 0.28),
        "tight: 200 mobs, radius ~20 deg": (200, 0.28),
        "mixture: 50 mobs, radius ~60 deg": (50, 1.5),
        "uniform: 50 random mobs": (50, None),
    }
    for name, (mobs, noise) in cases.items():
        if noise is None:
            data = rng.standard_normal((n + queries, dim)).astype(np.float32)
            data /= np.linalg.norm(data, axis=1, keepdims=True)
            labels = rng.integers(mobs, size=n)
        else:
            data, all_labels = labelled_mixture(n + queries, dim, mobs, noise, rng)
            labels = all_labels[:n]
        x, held_out = data[:n], data[n:]
        with tempfile.TemporaryDirectory(prefix="milkmobs-prune-") as tmp:
            pruned = PersistedVectorIndex(Path(tmp) / "index", dim, prune_min_rows=1)
            full = PersistedVectorIndex(Path(tmp) / "index", dim, prune_min_rows=n + 1)
            pruned.upsert_many([IndexedVector(f"v{i}", x[i], "validated", f"m{labels[i]}") for i in range(n)])
            answers = [(pruned.search(q, k=k), full.search(q, k=k)) for q in held_out]
            same = all([h.video_id for h in a] == [h.video_id for h in b] for a, b in answers)
            drift = max(abs(x.score - y.score) for a, b in answers for x, y in zip(a, b, strict=True))
            rates: dict[str, list[float]] = {"full": [], "pruned": []}
            for part_no, part in enumerate(np.array_split(held_out, 5)):
                for label in ["full", "pruned"] if part_no % 2 else ["pruned", "full"]:
                    index = full if label == "full" else pruned
                    _, seconds = timed(lambda index=index, part=part: [index.search(q, k=k) for q in part])
                    rates[label].append(len(part) / seconds)
            table = pruned._slots  # how many rows the bounds leave to score (fresh: the index drops diffuse ones)
            bounds = MobBounds(table, pruned._matrix, pruned._generation)
            everything = np.ones(table.used, dtype=bool)
            scored = statistics.mean(
                len(bounds.candidates(q, k, everything, table, pruned._matrix)[0]) for q in held_out
            )
            pruned.close()
            full.close()
        full_qps, pruned_qps = statistics.median(rates["full"]), statistics.median(rates["pruned"])
        print(
            f"{name:<34}{full_qps:>10.0f}{pruned_qps:>12.0f}{pruned_qps / full_qps:>6.2f}x"
            f"{scored / n:>12.1%} {'yes' if same else 'NO':>10}{drift:>12.1e}"
        )


def labelled_mixture(
    n: int, dim: int, clusters: int, noise: float, rng: np.random.Generator
) -> tuple[Matrix, npt.NDArray[np.int64]]:
    """``mixture`` with each vector's cluster, and the noise (per unit of centre) as a parameter."""
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(clusters, size=n)
    x = centres[labels] + rng.standard_normal((n, dim)).astype(np.float32) * np.float32(noise / np.sqrt(dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32), labels


def numpy_top_k(x: Matrix, queries: Matrix, k: int, block: int = 128) -> npt.NDArray[np.int64]:
    """Brute force: full score rows, argpartition, then sort the k best."""
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    for start in range(0, queries.shape[0], block):
        scores = queries[start : start + block] @ x.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out[start : start + block] = np.take_along_axis(top, order, axis=1)
    return out


def recall(found: list[list[int]] | npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    hits = sum(len(set(map(int, row)) & set(map(int, expected))) for row, expected in zip(found, truth, strict=True))
    return hits / truth.size


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def build_index(folder: Path, x: Matrix, batch: int = 10_000) -> PersistedVectorIndex:
    index = PersistedVectorIndex(folder, x.shape[1])
    for start in range(0, x.shape[0], batch):
        index.upsert_many(
            [IndexedVector(f"v{i}", x[i], "validated") for i in range(start, min(x.shape[0], start + batch))]
        )
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--queries", type=int, default=1_000, help="batched queries")
    parser.add_argument("--single", type=int, default=200, help="single queries per method")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prune-n", type=int, default=10_000, help="rows for the mob pruning table (0: skip)")
    parser.add_argument("--prune-dim", type=int, default=256)
    parser.add_argument("--prune-queries", type=int, default=500)
    parser.add_argument("--skip-peers", action="store_true", help="only the mob pruning table")
    args = parser.parse_args()
    if args.prune_n:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        with threadpool_limits(limits=1, user_api="blas"):  # one BLAS thread, as in the server's workers
            pruning_report(args.prune_n, args.prune_dim, args.prune_queries, args.k, np.random.default_rng(args.seed))
    if args.skip_peers:
        return
    import faiss  # the dev extra installs faiss-cpu

    rng = np.random.default_rng(args.seed)
    data = mixture(args.n + args.queries, args.dim, 50, rng)
    x, queries = data[: args.n], data[args.n :]
    k = args.k
    print(
        f"exact top-{k} cosine over {args.n:,} x {args.dim} float32; {args.queries} batched and "
        f"{args.single} single queries; faiss {faiss.__version__} ({faiss.omp_get_max_threads()} threads), "
        f"numpy {np.__version__}"
    )

    with tempfile.TemporaryDirectory(prefix="milkmobs-bench-") as tmp:
        folder = Path(tmp) / "index"
        index, build_s = timed(lambda: build_index(folder, x))
        index.close()
        index, open_s = timed(lambda: PersistedVectorIndex(folder, args.dim))
        print(f"persisted index: built in {build_s:.2f} s, reopened in {open_s:.2f} s ({index.count():,} vectors)")
        flat = faiss.IndexFlatIP(args.dim)
        flat.add(x)
        slot = {f"v{i}": i for i in range(args.n)}

        # Batched, then single: the queries in `rounds` parts; in each part every method answers the same
        # queries, in an order that rotates from part to part (faiss's OpenMP threads keep spinning a
        # moment after a call, which would otherwise always slow down the method measured next).
        batch_qps_rounds: dict[str, list[float]] = {"ours": [], "numpy": [], "faiss": []}
        single_qps_rounds: dict[str, list[float]] = {"ours": [], "numpy": [], "faiss": []}
        answers: dict[tuple[str, str], list[Any]] = {}

        def ours_batch(part: Matrix) -> list[list[int]]:
            return [[slot[h.video_id] for h in hits] for hits in index.search_many(part, k=k)]

        def ours_single(part: Matrix) -> list[list[int]]:
            return [[slot[h.video_id] for h in index.search(q, k=k)] for q in part]

        methods: dict[str, dict[str, Callable[[Matrix], Any]]] = {
            "batched": {
                "ours": ours_batch,
                "numpy": lambda part: list(numpy_top_k(x, part, k)),
                "faiss": lambda part: list(flat.search(part, k)[1]),
            },
            "single": {
                "ours": ours_single,
                "numpy": lambda part: list(numpy_top_k(x, part, k, block=1)),
                "faiss": lambda part: [flat.search(q[np.newaxis, :], k)[1][0] for q in part],
            },
        }
        order = ["ours", "numpy", "faiss"]
        for mode, total, qps in (
            ("batched", args.queries, batch_qps_rounds),
            ("single", args.single, single_qps_rounds),
        ):
            per_part = max(1, total // args.rounds)
            for part_no, start in enumerate(range(0, total, per_part)):
                part = queries[start : start + per_part]
                for name in order[part_no % 3 :] + order[: part_no % 3]:
                    method = methods[mode][name]
                    found, seconds = timed(lambda method=method, part=part: method(part))
                    answers.setdefault((mode, name), []).extend(found)
                    qps[name].append(len(part) / seconds)
        index.close()

    single_qps = {name: statistics.median(values) for name, values in single_qps_rounds.items()}
    batch_qps = {name: statistics.median(values) for name, values in batch_qps_rounds.items()}
    truth = np.asarray(answers[("batched", "numpy")])
    single_truth = np.asarray(answers[("single", "numpy")])
    recalls = {
        name: min(recall(answers[("single", name)], single_truth), recall(answers[("batched", name)], truth))
        for name in order
    }
    names = {"ours": "PersistedVectorIndex", "numpy": "brute-force numpy", "faiss": "faiss IndexFlatIP"}
    print(f"{'method':<22}{'single q/s':>12}{'batched q/s':>13}{'recall@' + str(k):>11}")
    for key, name in names.items():
        print(f"{name:<22}{single_qps[key]:>12.1f}{batch_qps[key]:>13.1f}{recalls[key]:>11.4f}")
    print(
        f"ours / faiss:  single {single_qps['ours'] / single_qps['faiss']:.2f}x, "
        f"batched {batch_qps['ours'] / batch_qps['faiss']:.2f}x  (target >= 1.00x)"
    )
    print(
        f"ours / numpy:  single {single_qps['ours'] / single_qps['numpy']:.2f}x, "
        f"batched {batch_qps['ours'] / batch_qps['numpy']:.2f}x"
    )


if __name__ == "__main__":
    main()
