"""VectorIndex contract: dimension checks, upserts, deletes and exact-enough cosine k-NN."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from milkmobs.domain import InvalidInputError
from milkmobs.ports import IndexedVector, ListableVectorIndex

MakeIndex = Callable[[int], Any]
DIM = 16


def unit(rng: np.random.Generator, dimension: int = DIM) -> np.ndarray[Any, np.dtype[np.float32]]:
    vector = rng.standard_normal(dimension).astype(np.float32)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def item(video_id: str, vector: Any, *, status: str = "validated", mob_id: str | None = None) -> IndexedVector:
    return IndexedVector(video_id=video_id, vector=np.asarray(vector, dtype=np.float32), status=status, mob_id=mob_id)


def populate(index: Any, n: int = 40, seed: int = 3) -> dict[str, IndexedVector]:
    rng = np.random.default_rng(seed)
    items = {
        f"v{i:02d}": item(
            f"v{i:02d}",
            unit(rng),
            status="validated" if i % 3 else "rejected",
            mob_id=None if i % 3 == 0 else ("m1" if i % 2 else "m2"),
        )
        for i in range(n)
    }
    index.upsert_many(list(items.values()))
    return items


def expected_hits(
    items: dict[str, IndexedVector], query: Any, k: int, keep: Callable[[IndexedVector], bool]
) -> list[tuple[str, float]]:
    """The true top-k by cosine, computed with numpy in float64."""
    q = np.asarray(query, dtype=np.float64)
    scored = [
        (vid, float(np.dot(x.vector, q) / (np.linalg.norm(x.vector) * np.linalg.norm(q))))
        for vid, x in items.items()
        if keep(x)
    ]
    scored.sort(key=lambda pair: -pair[1])
    return scored[:k]


def assert_hits(hits: list[Any], expected: list[tuple[str, float]]) -> None:
    assert [h.video_id for h in hits] == [vid for vid, _ in expected]
    for hit, (_, score) in zip(hits, expected, strict=True):
        assert hit.score == pytest.approx(score, abs=1e-4)
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


@pytest.mark.parametrize("dimension", [3, 512])
def test_dimension_is_the_one_the_index_was_made_with(make_index: MakeIndex, dimension: int) -> None:
    index = make_index(dimension)
    assert index.dimension == dimension
    assert index.count() == 0


def test_vectors_of_another_dimension_are_refused_and_nothing_is_written(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidInputError):
        index.upsert(item("short", unit(rng, DIM - 1)))
    with pytest.raises(InvalidInputError):
        index.upsert(item("long", unit(rng, DIM + 1)))
    with pytest.raises(InvalidInputError):
        index.upsert_many([item("ok", unit(rng)), item("bad", unit(rng, DIM * 2))])
    assert index.count() == 0
    assert index.get_vector("ok") is None
    with pytest.raises(InvalidInputError):
        index.search(unit(rng, DIM + 3), k=3)


def test_upsert_get_vector_and_count(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    rng = np.random.default_rng(1)
    vector = unit(rng)
    index.upsert(item("a", vector))
    assert index.count() == 1
    got = index.get_vector("a")
    assert got is not None and got.dtype == np.float32 and got.shape == (DIM,)
    np.testing.assert_allclose(got, vector, atol=1e-6)
    assert index.get_vector("missing") is None


def test_upsert_replaces_the_vector_and_its_metadata(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    rng = np.random.default_rng(2)
    first, second = unit(rng), unit(rng)
    index.upsert(item("a", first, status="rejected"))
    index.upsert(item("b", unit(rng), status="validated", mob_id="m1"))
    index.upsert(item("a", second, status="validated", mob_id="m1"))
    assert index.count() == 2
    np.testing.assert_allclose(index.get_vector("a"), second, atol=1e-6)
    assert {h.video_id for h in index.search(second, k=5, status="validated", mob_id="m1")} == {"a", "b"}
    assert index.search(second, k=5, status="rejected") == []
    assert index.search(second, k=1)[0].score == pytest.approx(1.0, abs=1e-4)


def test_delete_reports_whether_something_was_removed(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    items = populate(index, n=10)
    assert index.delete("v03") is True
    assert index.delete("v03") is False
    assert index.delete("never") is False
    assert index.count() == 9
    assert index.get_vector("v03") is None
    assert "v03" not in {h.video_id for h in index.search(items["v03"].vector, k=10)}
    remaining = {vid: x for vid, x in items.items() if vid != "v03"}
    assert_hits(
        index.search(items["v05"].vector, k=9), expected_hits(remaining, items["v05"].vector, 9, lambda x: True)
    )


@pytest.mark.parametrize("k", [1, 5, 40, 100])
def test_search_returns_the_true_top_k_by_cosine(make_index: MakeIndex, k: int) -> None:
    index = make_index(DIM)
    items = populate(index)
    query = unit(np.random.default_rng(99))
    hits = index.search(query, k=k)
    assert_hits(hits, expected_hits(items, query, k, lambda x: True))
    assert len(hits) == min(k, 40)


def test_scores_are_cosines_across_the_whole_range(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    rng = np.random.default_rng(5)
    q = unit(rng)
    orthogonal = unit(rng)
    orthogonal = orthogonal - np.dot(orthogonal, q) * q
    orthogonal = (orthogonal / np.linalg.norm(orthogonal)).astype(np.float32)
    index.upsert_many([item("same", q), item("opposite", -q), item("orthogonal", orthogonal)])
    hits = {h.video_id: h.score for h in index.search(q, k=3)}
    assert hits["same"] == pytest.approx(1.0, abs=1e-4)
    assert hits["orthogonal"] == pytest.approx(0.0, abs=1e-4)
    assert hits["opposite"] == pytest.approx(-1.0, abs=1e-4)
    assert all(-1.0 <= s <= 1.0 for s in hits.values())


def test_filters_by_status_and_mob(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    items = populate(index)
    query = items["v07"].vector
    cases: list[tuple[dict[str, str], Callable[[IndexedVector], bool]]] = [
        ({"status": "validated"}, lambda x: x.status == "validated"),
        ({"status": "rejected"}, lambda x: x.status == "rejected"),
        ({"mob_id": "m1"}, lambda x: x.mob_id == "m1"),
        ({"mob_id": "m2", "status": "validated"}, lambda x: x.mob_id == "m2" and x.status == "validated"),
        ({"mob_id": "m1", "status": "rejected"}, lambda x: False),
        ({"mob_id": "no-such-mob"}, lambda x: False),
    ]
    for filters, keep in cases:
        assert_hits(index.search(query, k=6, **filters), expected_hits(items, query, 6, keep))


def test_the_excluded_video_never_comes_back(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    items = populate(index)
    query = items["v10"].vector
    hits = index.search(query, k=40, exclude_video_id="v10")
    assert "v10" not in {h.video_id for h in hits}
    assert_hits(hits, expected_hits(items, query, 39, lambda x: x.video_id != "v10"))
    filtered = index.search(query, k=5, mob_id=items["v10"].mob_id, exclude_video_id="v10")
    assert "v10" not in {h.video_id for h in filtered}
    assert len(index.search(query, k=3, exclude_video_id="not-indexed")) == 3


def test_search_on_an_empty_index_finds_nothing(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    assert index.search(unit(np.random.default_rng(4)), k=5) == []


def test_many_upserts_and_deletes_keep_search_exact(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    rng = np.random.default_rng(11)
    live: dict[str, IndexedVector] = {}
    for round_ in range(5):
        batch = [item(f"r{round_}-{i}", unit(rng), mob_id=f"m{i % 3}") for i in range(12)]
        index.upsert_many(batch)
        live.update({x.video_id: x for x in batch})
        for victim in sorted(live)[round_::4]:
            assert index.delete(victim)
            del live[victim]
    assert index.count() == len(live)
    query = unit(rng)
    assert_hits(index.search(query, k=10), expected_hits(live, query, 10, lambda x: True))
    assert_hits(index.search(query, k=4, mob_id="m1"), expected_hits(live, query, 4, lambda x: x.mob_id == "m1"))


def test_an_in_process_index_lists_the_videos_it_holds(make_index: MakeIndex) -> None:
    index = make_index(DIM)
    if not isinstance(index, ListableVectorIndex):
        pytest.skip(f"{type(index).__name__} is repaired by the batch run, not listed by a start-up recovery")
    assert index.video_ids() == set()
    items = populate(index, n=5)
    assert index.video_ids() == set(items)
    removed = sorted(items)[0]
    index.delete(removed)
    index.upsert(item("late", unit(np.random.default_rng(9))))
    assert index.video_ids() == (set(items) - {removed}) | {"late"}
