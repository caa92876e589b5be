"""Searches that skip whole mobs give exactly the full scan's answer, through every kind of change."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milkmobs.adapters.local.vector_bounds import MobBounds
from milkmobs.adapters.local.vector_index import PersistedVectorIndex
from milkmobs.adapters.local.vector_slots import top_k_by_score_then_slot, top_k_per_row
from milkmobs.ports import IndexedVector

DIM = 8
NEVER = 10**9  # prune_min_rows that keeps an index on the full scan: the reference


def _integer_rows(rng: np.random.Generator, count: int, mobs: int, spread: int) -> list[tuple[Any, str | None]]:
    """Small-integer vectors around integer centres (a mob each), some of no mob, some repeated.
    Against a query of halves their dot products are exact in float32, whatever the summation
    order: both paths must then agree to the bit, ties included."""
    centres = rng.integers(-6, 7, size=(mobs, DIM))
    rows: list[tuple[Any, str | None]] = []
    for _ in range(count):
        if mobs and rng.random() < 0.8:
            mob = int(rng.integers(mobs))
            vector = centres[mob] + rng.integers(-spread, spread + 1, size=DIM)
            name: str | None = f"m{mob}"
        else:
            vector, name = rng.integers(-6, 7, size=DIM), None
        if rows and rng.random() < 0.1:
            vector = np.asarray(rows[-1][0])  # an exact duplicate: equal scores
        vector = np.array(vector, dtype=np.float32)
        vector[0] = vector[0] if vector[0] != 0 else 1.0  # never the zero vector
        rows.append((vector, name))
    return rows


def _query(rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A unit vector of four ±0.5 entries (its norm is exactly 1, so it is used as given)."""
    query = np.zeros(DIM, dtype=np.float32)
    query[rng.choice(DIM, size=4, replace=False)] = rng.choice([-0.5, 0.5], size=4)
    return query


def _assert_same_answers(
    pruned: PersistedVectorIndex, full: PersistedVectorIndex, rng: np.random.Generator, ids: list[str]
) -> None:
    for _ in range(4):
        query = _query(rng)
        k = int(rng.integers(1, 13))
        status = [None, "validated", "rejected"][int(rng.integers(3))]
        exclude = ids[int(rng.integers(len(ids)))] if ids and rng.random() < 0.5 else None
        got = pruned.search(query, k=k, status=status, exclude_video_id=exclude)
        want = full.search(query, k=k, status=status, exclude_video_id=exclude)
        assert [(h.video_id, h.score) for h in got] == [(h.video_id, h.score) for h in want]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    mobs=st.integers(0, 6),
    spread=st.integers(0, 4),
    steps=st.lists(st.sampled_from(["add", "vector", "mob", "status", "delete", "recluster", "compact"]), max_size=8),
)
def test_pruned_search_equals_the_full_scan_through_every_change(
    seed: int, mobs: int, spread: int, steps: list[str]
) -> None:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "index"
        writer = PersistedVectorIndex(folder, DIM, initial_capacity=16, compact_min_tombstones=20, prune_min_rows=1)
        reader = PersistedVectorIndex(folder, DIM, prune_min_rows=1)  # another process's view: follows versions
        full = PersistedVectorIndex(folder, DIM, prune_min_rows=NEVER)
        try:
            counter = 0

            def add(count: int) -> None:
                nonlocal counter
                rows = _integer_rows(rng, count, mobs, spread)
                writer.upsert_many(
                    [
                        IndexedVector(f"v{counter + i}", vector, "validated" if rng.random() < 0.7 else "rejected", mob)
                        for i, (vector, mob) in enumerate(rows)
                    ]
                )
                counter += count

            def some(ids: list[str], share: float) -> list[str]:
                return [vid for vid in ids if rng.random() < share]

            add(int(rng.integers(20, 120)))
            for step in ["none", *steps]:
                ids = sorted(writer.video_ids())
                current = {vid: writer.get_vector(vid) for vid in ids}
                if step == "add":
                    add(int(rng.integers(1, 30)))
                elif step == "vector":  # new vectors for some rows: fresh slots, same mob
                    rows = _integer_rows(rng, len(ids), mobs, spread)
                    writer.upsert_many(
                        [
                            IndexedVector(vid, rows[i][0], "validated", f"m{i % max(mobs, 1)}")
                            for i, vid in enumerate(ids)
                            if rng.random() < 0.2
                        ]
                    )
                elif step in ("mob", "recluster"):  # a few rows, or most of them, change mob
                    share = 0.1 if step == "mob" else 0.8
                    writer.upsert_many(
                        [
                            IndexedVector(vid, current[vid], "validated", f"m{int(rng.integers(mobs + 2))}")
                            for vid in some(ids, share)
                        ]
                    )
                elif step == "status":
                    writer.upsert_many([IndexedVector(vid, current[vid], "rejected") for vid in some(ids, 0.3)])
                elif step == "delete":
                    for vid in some(ids, 0.2):
                        writer.delete(vid)
                elif step == "compact":
                    writer.compact()
                ids = sorted(writer.video_ids())
                _assert_same_answers(writer, full, rng, ids)
                _assert_same_answers(reader, full, rng, ids)
        finally:
            for index in (writer, reader, full):
                index.close()


def _mixture(rng: np.random.Generator, count: int, mobs: int, noise: float) -> tuple[Any, Any]:
    centres = rng.standard_normal((mobs, 64)).astype(np.float32)
    labels = rng.integers(mobs, size=count)
    x = centres[labels] / np.linalg.norm(centres[labels], axis=1, keepdims=True)
    x = x + rng.standard_normal((count, 64)).astype(np.float32) * np.float32(noise / 8)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


@pytest.mark.parametrize("noise", [0.3, 3.0])  # tight mobs, and diffuse ones where nothing can be skipped
def test_float_embeddings_give_the_full_scans_hits_and_tight_mobs_are_skipped(tmp_path: Path, noise: float) -> None:
    rng = np.random.default_rng(7)
    x, labels = _mixture(rng, 5000, 20, noise)
    items = [IndexedVector(f"v{i}", x[i], "validated", f"m{labels[i]}" if i % 10 else None) for i in range(len(x))]
    pruned = PersistedVectorIndex(tmp_path / "index", 64, prune_min_rows=1)
    full = PersistedVectorIndex(tmp_path / "index", 64, prune_min_rows=NEVER)
    pruned.upsert_many(items)
    bounds = MobBounds(pruned._slots, pruned._matrix, pruned._generation)
    scored = []
    for i in range(0, 5000, 97):
        got = pruned.search(x[i], k=10, exclude_video_id=f"v{i}")
        want = full.search(x[i], k=10, exclude_video_id=f"v{i}")
        assert [h.video_id for h in got] == [h.video_id for h in want]
        assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-6)
        mask = pruned._slots.mask(None, None, f"v{i}")
        assert mask is not None
        scored.append(len(bounds.candidates(x[i], 10, mask, pruned._slots, pruned._matrix)[0]))
    if noise < 1:
        assert max(scored) < len(x) // 2  # tight mobs: most are skipped
        assert not bounds.diffuse() and pruned._bounds is not None
    else:
        assert min(scored) > len(x) * 0.9  # diffuse: the bounds prove nothing, every row is scored
        assert bounds.diffuse() and pruned._bounds is None  # so the index dropped them for the full scan
    pruned.close()
    full.close()


def test_bounds_follow_a_generation_change_seen_by_a_second_reader(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x, labels = _mixture(rng, 3000, 12, 0.3)
    folder = tmp_path / "index"
    writer = PersistedVectorIndex(folder, 64, prune_min_rows=NEVER)
    reader = PersistedVectorIndex(folder, 64, prune_min_rows=1)
    writer.upsert_many([IndexedVector(f"v{i}", x[i], "validated", f"m{labels[i]}") for i in range(len(x))])

    def same(query_row: int) -> None:
        got = reader.search(x[query_row], k=10, status="validated")
        want = writer.search(x[query_row], k=10, status="validated")
        assert [h.video_id for h in got] == [h.video_id for h in want]

    same(0)
    first = reader._bounds
    assert first is not None and first.generation == writer._generation
    for i in range(0, 3000, 2):  # half the rows go, then a compaction renumbers every slot
        writer.delete(f"v{i}")
    writer.compact()
    writer.upsert_many(  # re-clustering: every row gets another mob
        [IndexedVector(f"v{i}", x[i], "validated", f"n{(labels[i] + 1) % 12}") for i in range(1, 3000, 2)]
    )
    for row in range(1, 3000, 150):
        same(row)
    assert reader._bounds is not None and reader._bounds is not first
    assert reader._bounds.generation == writer._generation != first.generation
    writer.close()
    reader.close()


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 2000), k=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_top_k_selections_break_ties_by_lower_slot_alike(n: int, k: int, seed: int) -> None:
    scores = np.round(np.random.default_rng(seed).standard_normal(n), 1).astype(np.float32)  # many ties
    full = top_k_per_row(scores[np.newaxis, :], k)[0]
    assert full.tolist() == top_k_by_score_then_slot(scores, np.arange(n), k).tolist()
    expected = sorted(range(n), key=lambda i: (-scores[i], i))[:k]
    assert full.tolist() == expected


def test_warm_builds_the_bounds_of_another_process_rows_before_the_first_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    x, labels = _mixture(rng, 2000, 8, 0.3)
    folder = tmp_path / "index"
    writer = PersistedVectorIndex(folder, 64, prune_min_rows=NEVER)
    small = PersistedVectorIndex(folder, 64, prune_min_rows=4096)  # below its threshold: nothing to build
    reader = PersistedVectorIndex(folder, 64, prune_min_rows=1)
    writer.upsert_many([IndexedVector(f"v{i}", x[i], "validated", f"m{labels[i]}") for i in range(len(x))])
    reader.warm()
    small.warm()
    built = reader._bounds
    assert built is not None and built.generation == writer._generation and built.mobs == 8
    assert small._bounds is None
    got = reader.search(x[3], k=10, status="validated")
    assert reader._bounds is built  # the first search used them as they were
    assert [h.video_id for h in got] == [h.video_id for h in writer.search(x[3], k=10, status="validated")]
    for index in (writer, small, reader):
        index.close()
