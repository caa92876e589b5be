"""PersistedVectorIndex beyond the contract suite: persistence, tombstones, compaction, growth, batches."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from milkmobs.adapters.local.vector_index import PersistedVectorIndex
from milkmobs.adapters.local.vector_slots import top_k_per_row
from milkmobs.domain import BackendUnavailableError, ConfigurationError, InvalidInputError
from milkmobs.ports import IndexedVector

DIM = 16
Matrix = npt.NDArray[np.float32]


def _vectors(count: int, seed: int = 0) -> Matrix:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, DIM)).astype(np.float32)


def _items(vectors: Matrix, prefix: str = "v") -> list[IndexedVector]:
    return [
        IndexedVector(
            video_id=f"{prefix}{i}",
            vector=vector,
            status="validated" if i % 3 else "rejected",
            mob_id=f"m{i % 4}" if i % 5 else None,
        )
        for i, vector in enumerate(vectors)
    ]


def _brute_force(vectors: Matrix, query: Matrix, k: int, keep: npt.NDArray[np.bool_] | None = None) -> list[str]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    if keep is not None:
        scores = np.where(keep, scores, -np.inf)
    order = np.argsort(-scores, kind="stable")[:k]
    return [f"v{i}" for i in order if np.isfinite(scores[i])]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def index(folder: Path) -> Iterator[PersistedVectorIndex]:
    opened = PersistedVectorIndex(folder, DIM, initial_capacity=4, compact_min_tombstones=8)
    yield opened
    opened.close()


def test_search_is_exact_against_brute_force_with_and_without_filters(index: PersistedVectorIndex) -> None:
    vectors = _vectors(300)
    items = _items(vectors)
    index.upsert_many(items)
    query = _vectors(1, seed=9)[0]
    assert [h.video_id for h in index.search(query, k=10)] == _brute_force(vectors, query, 10)
    in_m1 = np.array([item.mob_id == "m1" for item in items])  # selective: the gather path
    assert [h.video_id for h in index.search(query, k=10, mob_id="m1")] == _brute_force(vectors, query, 10, in_m1)
    validated = np.array([item.status == "validated" for item in items])  # broad: the full-product path
    hits = index.search(query, k=10, status="validated", exclude_video_id="v1")
    assert [h.video_id for h in hits] == [v for v in _brute_force(vectors, query, 11, validated) if v != "v1"][:10]
    assert index.search(query, k=5, mob_id="no-such-mob") == []


def test_search_many_equals_search_row_by_row(index: PersistedVectorIndex) -> None:
    vectors = _vectors(200)
    index.upsert_many(_items(vectors))
    queries = _vectors(70, seed=3)  # more than one block of queries
    for status in (None, "rejected"):
        batched = index.search_many(queries, k=7, status=status)
        single = [index.search(q, k=7, status=status) for q in queries]
        assert [[h.video_id for h in row] for row in batched] == [[h.video_id for h in row] for row in single]
        for row_b, row_s in zip(batched, single, strict=True):
            assert [h.score for h in row_b] == pytest.approx([h.score for h in row_s], abs=1e-5)
    with pytest.raises(InvalidInputError):
        index.search_many(np.zeros((2, DIM + 1), dtype=np.float32), k=3)


def test_everything_survives_a_restart(folder: Path) -> None:
    vectors = _vectors(50)
    first = PersistedVectorIndex(folder, DIM, initial_capacity=4, compact_min_tombstones=1000)
    first.upsert_many(_items(vectors))
    first.delete("v7")
    first.upsert(IndexedVector("v8", vectors[8], status="validated", mob_id="moved"))
    query = vectors[3]
    before = [
        first.search(query, k=10),
        first.search(query, k=10, mob_id="moved"),
        first.search(query, k=5, status="rejected"),
    ]
    first.close()
    second = PersistedVectorIndex(folder, DIM)
    try:
        assert second.count() == 49 and second.get_vector("v7") is None
        assert np.array_equal(second.get_vector("v8"), vectors[8])  # type: ignore[arg-type]
        after = [
            second.search(query, k=10),
            second.search(query, k=10, mob_id="moved"),
            second.search(query, k=5, status="rejected"),
        ]
        assert after == before
    finally:
        second.close()


def test_replacing_and_deleting_leave_tombstones_that_compaction_reclaims(folder: Path) -> None:
    vectors = _vectors(40)
    index = PersistedVectorIndex(folder, DIM, initial_capacity=4, compact_min_tombstones=1000)
    try:
        index.upsert_many(_items(vectors))
        index.upsert_many(_items(vectors[:10] * 2))  # changed vectors -> new slots
        index.upsert(IndexedVector("v20", vectors[20], status="validated", mob_id="x"))  # same vector: in place
        for i in range(30, 35):
            index.delete(f"v{i}")
        assert index.tombstones() == 15 and index.count() == 35
        query = vectors[2]
        before = index.search(query, k=35)
        index.compact()
        assert index.tombstones() == 0 and index.count() == 35
        after = index.search(query, k=35)
        assert [h.video_id for h in after] == [h.video_id for h in before]
        assert [h.score for h in after] == pytest.approx([h.score for h in before], abs=1e-6)
        assert len(list(folder.glob("vectors-*.npy"))) == 1  # the old generation is gone
    finally:
        index.close()
    reopened = PersistedVectorIndex(folder, DIM)
    try:
        assert reopened.tombstones() == 0 and reopened.count() == 35
        assert np.array_equal(reopened.get_vector("v3"), vectors[3] * 2)  # type: ignore[arg-type]
    finally:
        reopened.close()


def test_compaction_starts_by_itself_once_tombstones_pile_up(index: PersistedVectorIndex) -> None:
    index.upsert_many(_items(_vectors(20)))
    for i in range(10):
        index.delete(f"v{i}")
    assert index.tombstones() < 8 and index.count() == 10


def test_leftovers_of_an_interrupted_rewrite_are_removed_on_open(folder: Path) -> None:
    PersistedVectorIndex(folder, DIM).close()
    stray = folder / "vectors-99.npy"
    stray.write_bytes(b"half written")
    PersistedVectorIndex(folder, DIM).close()
    assert not stray.exists()


def test_dimension_is_checked_on_write_search_and_reopen(folder: Path) -> None:
    index = PersistedVectorIndex(folder, DIM)
    try:
        with pytest.raises(InvalidInputError):
            index.upsert_many([IndexedVector("ok", _vectors(1)[0], "validated"), IndexedVector("bad", np.ones(3), "x")])
        assert index.count() == 0  # all or nothing
        with pytest.raises(InvalidInputError):
            index.upsert(IndexedVector("zero", np.zeros(DIM, dtype=np.float32), "validated"))
        with pytest.raises(InvalidInputError):
            index.search(np.ones(DIM + 1, dtype=np.float32), k=3)
    finally:
        index.close()
    with pytest.raises(ConfigurationError, match="dimensional"):
        PersistedVectorIndex(folder, DIM * 2)


def test_instances_writing_at_once_lose_nothing(folder: Path) -> None:
    """Two instances (as two processes) writing at the same time, through growth, replacement and
    compaction: every committed vector is in its slot for both, and a reopened index agrees."""
    vectors = _vectors(300)
    a = PersistedVectorIndex(folder, DIM, initial_capacity=4, compact_min_tombstones=16)
    b = PersistedVectorIndex(folder, DIM, initial_capacity=4, compact_min_tombstones=16)
    errors: list[BaseException] = []

    def write(index: PersistedVectorIndex, part: int) -> None:
        try:
            for i in range(part, 300, 2):
                index.upsert(IndexedVector(f"v{i}", vectors[i], "validated"))
                if i % 5 == 0:
                    index.upsert(IndexedVector(f"v{i}", vectors[(i + 1) % 300], "validated"))  # replaced
                if i % 7 == 0:
                    index.delete(f"v{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(index, part)) for part, index in enumerate((a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    expected = {f"v{i}": vectors[(i + 1) % 300 if i % 5 == 0 else i] for i in range(300) if i % 7 != 0}
    try:
        for index in (a, b):
            assert index.count() == len(expected)
            for vid, vector in expected.items():
                assert np.array_equal(index.get_vector(vid), vector), vid  # type: ignore[arg-type]
    finally:
        a.close()
        b.close()
    reopened = PersistedVectorIndex(folder, DIM)
    try:
        assert reopened.count() == len(expected)
    finally:
        reopened.close()


def test_threads_can_write_and_search_at_once(index: PersistedVectorIndex) -> None:
    vectors = _vectors(400)
    errors: list[BaseException] = []

    def write(part: int) -> None:
        try:
            for i in range(part, 400, 4):
                index.upsert(IndexedVector(f"v{i}", vectors[i], "validated"))
                if i % 7 == 0:
                    index.delete(f"v{i}")
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            for q in vectors[:100]:
                for hit in index.search(q, k=5):
                    assert -1.0 <= hit.score <= 1.0
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in range(4)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    expected = {f"v{i}" for i in range(400) if i % 7}
    assert index.count() == len(expected)
    hits = index.search(vectors[1], k=len(expected) + 10)
    assert {h.video_id for h in hits} == expected


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(1, 4),
    n=st.integers(1, 3000),
    k=st.integers(1, 40),
    decimals=st.sampled_from([None, 1]),  # rounding makes many ties
    seed=st.integers(0, 2**32 - 1),
)
def test_top_k_per_row_finds_exactly_the_k_largest(rows: int, n: int, k: int, decimals: int | None, seed: int) -> None:
    scores = np.random.default_rng(seed).standard_normal((rows, n)).astype(np.float32)
    if decimals is not None:
        scores = np.round(scores, decimals)
    for row, top in zip(scores, top_k_per_row(scores, k), strict=True):
        assert len(set(top.tolist())) == len(top) == min(k, n)
        assert np.array_equal(row[top], np.sort(row)[::-1][: min(k, n)])  # the k largest values, best first


def test_a_non_finite_vector_refuses_the_whole_batch(index: PersistedVectorIndex) -> None:
    bad = _vectors(1)[0].copy()
    bad[3] = np.nan
    with pytest.raises(InvalidInputError, match="v-bad"):
        index.upsert_many([IndexedVector("v-ok", _vectors(1)[0], "validated"), IndexedVector("v-bad", bad, "x")])
    assert index.count() == 0 and index.get_vector("v-ok") is None


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_damaged_vector_file_is_a_clear_configuration_error(folder: Path, damage: str) -> None:
    index = PersistedVectorIndex(folder, DIM)
    index.upsert_many(_items(_vectors(5)))
    index.close()
    [vectors_file] = folder.glob("vectors-*.npy")
    if damage == "delete":
        vectors_file.unlink()
    else:
        vectors_file.write_bytes(vectors_file.read_bytes()[:50])
    with pytest.raises(ConfigurationError, match="rebuilds it"):
        PersistedVectorIndex(folder, DIM)
    with pytest.raises(ConfigurationError, match="rebuilds it"):  # not "in use": the failed open let go
        PersistedVectorIndex(folder, DIM)  # and it still refuses, rather than serving zero vectors


class IndexAgainstAModel(RuleBasedStateMachine):
    """Random upserts, deletes, compactions and reopenings: the persisted index always answers like a
    plain dict of vectors searched by brute force."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory(prefix="milkmobs-index-model-")
        self.folder = Path(self.tmp.name) / "index"
        self.index = self._open()
        self.model: dict[str, tuple[Matrix, str, str | None]] = {}

    def _open(self) -> PersistedVectorIndex:
        return PersistedVectorIndex(self.folder, 4, initial_capacity=2, compact_min_tombstones=3)

    @rule(
        video=st.sampled_from([f"v{i}" for i in range(8)]),
        seed=st.integers(0, 5),  # few seeds: the same vector comes back, an in-place metadata update
        status=st.sampled_from(["validated", "rejected"]),
        mob=st.sampled_from([None, "m1", "m2"]),
    )
    def upsert(self, video: str, seed: int, status: str, mob: str | None) -> None:
        vector = np.random.default_rng(seed).standard_normal(4).astype(np.float32)
        self.index.upsert(IndexedVector(video, vector, status, mob))
        self.model[video] = (vector, status, mob)

    @rule(video=st.sampled_from([f"v{i}" for i in range(8)]))
    def delete(self, video: str) -> None:
        assert self.index.delete(video) == (self.model.pop(video, None) is not None)

    @rule()
    def compact(self) -> None:
        self.index.compact()

    @rule()
    def reopen(self) -> None:
        self.index.close()
        self.index = self._open()

    @invariant()
    def answers_like_the_model(self) -> None:
        assert self.index.count() == len(self.model)
        for video, (vector, _, _) in self.model.items():
            assert np.array_equal(self.index.get_vector(video), vector)  # type: ignore[arg-type]
        query = np.array([1.0, -0.5, 0.25, 2.0], dtype=np.float32)
        for status, mob in [(None, None), ("validated", None), (None, "m1"), ("rejected", "m2")]:
            scored = [
                (float(v @ query / (np.linalg.norm(v) * np.linalg.norm(query))), vid)
                for vid, (v, s, m) in self.model.items()
                if (status is None or s == status) and (mob is None or m == mob)
            ]
            expected = sorted(scored, reverse=True)[:3]
            hits = self.index.search(query, k=3, status=status, mob_id=mob)
            # exactly the best scores; among equal vectors (same seed) float rounding may order either way
            assert [h.score for h in hits] == pytest.approx([score for score, _ in expected], abs=1e-5)
            truth = dict((vid, score) for score, vid in scored)
            assert all(h.score == pytest.approx(truth[h.video_id], abs=1e-5) for h in hits)
            assert len({h.video_id for h in hits}) == len(hits)

    def teardown(self) -> None:
        self.index.close()
        self.tmp.cleanup()


TestIndexAgainstAModel = IndexAgainstAModel.TestCase
TestIndexAgainstAModel.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)


def test_a_closed_index_refuses_work_and_closes_once(folder: Path) -> None:
    index = PersistedVectorIndex(folder, DIM)
    index.upsert_many(_items(_vectors(3)))
    index.close()
    index.close()
    with pytest.raises(BackendUnavailableError, match="closed"):
        index.search(_vectors(1)[0], k=1)
    with pytest.raises(BackendUnavailableError, match="closed"):
        index.upsert(IndexedVector("late", _vectors(1)[0], "validated"))


def test_instances_sharing_a_folder_see_each_others_writes(folder: Path) -> None:
    """Two instances on one folder (as two processes of milkmobs serve): each write, growth and
    compaction by one is seen by the other's next read, and either may write."""
    vectors = _vectors(40)
    first = PersistedVectorIndex(folder, DIM, initial_capacity=4, compact_min_tombstones=1000)
    second = PersistedVectorIndex(folder, DIM, initial_capacity=4, compact_min_tombstones=1000)
    try:
        first.upsert_many(_items(vectors[:20]))
        query = vectors[5]
        assert second.count() == 20
        assert second.search(query, k=8, status="validated") == first.search(query, k=8, status="validated")
        version = second.version()
        second.upsert_many(_items(vectors))  # grows the file from the other instance
        assert first.version() > version
        first.delete("v5")
        first.compact()
        assert second.get_vector("v5") is None and second.count() == 39
        assert second.search(query, k=8) == first.search(query, k=8)
        second.upsert(IndexedVector("v7", vectors[0], "rejected", None))  # a replaced vector: a new slot
        best = first.search(vectors[0], k=3, status="rejected")
        assert "v7" in [hit.video_id for hit in best] and best[0].score == pytest.approx(1.0)
        assert np.array_equal(first.get_vector("v7"), vectors[0])  # type: ignore[arg-type]
    finally:
        second.close()
        first.close()
    reopened = PersistedVectorIndex(folder, DIM)
    try:
        assert reopened.count() == 39 and reopened.get_vector("v5") is None
    finally:
        reopened.close()
