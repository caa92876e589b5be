"""Hypothesis properties over random operation sequences, for every store and index.

Each example builds a fresh adapter, applies random writes to it and to a plain-Python
model, and compares what the adapter answers with what the model says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milkmobs.domain import ALLOWED_TRANSITIONS, Video, VideoStatus
from milkmobs.ports import IndexedVector
from tests.contract.support import T0, make_video, validation_for


def _fast(examples: int) -> settings:
    """Few examples (each builds a fresh adapter); fixtures here are factories, safe to share."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# (kind, video number, choice, score): add / move to the choice-th allowed next status / delete
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["add", "move", "move", "delete"]),
        st.integers(0, 7),
        st.integers(0, 5),
        st.floats(0.0, 1.0, allow_nan=False),
    ),
    max_size=24,
)


def _expected_stats(videos: dict[str, Video]) -> tuple[dict[str, int], float | None, float | None]:
    counts = Counter(v.status.value for v in videos.values())
    scores = [v.validation.score for v in videos.values() if v.validation is not None]
    seconds = [
        (v.completed_at - v.created_at).total_seconds()
        for v in videos.values()
        if v.status is VideoStatus.VALIDATED and v.completed_at is not None
    ]
    return (
        dict(counts),
        sum(scores) / len(scores) if scores else None,
        sum(seconds) / len(seconds) if seconds else None,
    )


def _apply(store: Any, model: dict[str, Video], op: tuple[str, int, int, float]) -> None:
    kind, number, choice, score = op
    video_id = f"p{number}"
    current = model.get(video_id)
    if kind == "add" and current is None:
        video = make_video(video_id, created_at=T0 + timedelta(seconds=number))
        store.add(video)
        model[video_id] = video
    elif kind == "delete" and current is not None:
        store.delete(video_id)
        del model[video_id]
    elif kind == "move" and current is not None:
        targets = sorted(ALLOWED_TRANSITIONS[current.status], key=lambda s: s.value)
        if not targets:
            return
        target = targets[choice % len(targets)]
        changes: dict[str, Any] = {}
        if target in (VideoStatus.VALIDATED, VideoStatus.REJECTED):
            changes = {
                "validation": validation_for(video_id, round(score, 6)),
                "completed_at": current.created_at + timedelta(seconds=round(score * 100, 3)),
            }
        moved = current.transitioned(target, at=T0 + timedelta(hours=1), **changes)
        store.save(moved, expected_status=current.status)
        model[video_id] = moved


@_fast(8)
@given(operations=OPERATIONS)
def test_stats_always_match_the_stored_videos(
    video_store_factory: Callable[[], Any], operations: list[tuple[str, int, int, float]]
) -> None:
    model: dict[str, Video] = {}
    with video_store_factory() as store:
        for op in operations:
            _apply(store, model, op)
        counts, average_score, average_seconds = _expected_stats(model)
        stats = store.stats()
        assert stats.total_videos == len(model)
        assert {k: v for k, v in stats.by_status.items() if v} == counts
        if average_score is None:
            assert stats.average_validation_score is None
        else:
            assert stats.average_validation_score == pytest.approx(average_score, abs=1e-6)
        if average_seconds is None:
            assert stats.average_seconds_to_validate is None
        else:
            assert stats.average_seconds_to_validate == pytest.approx(average_seconds, abs=1e-3)
        for status in VideoStatus:
            page = store.list_by_status(status, limit=50)
            assert sorted(v.video_id for v in page.items) == sorted(k for k, v in model.items() if v.status is status)


VECTOR_OPS = st.lists(
    st.tuples(st.sampled_from(["upsert", "upsert", "delete"]), st.integers(0, 11), st.integers(0, 2**31)),
    min_size=1,
    max_size=25,
)


@_fast(15)
@given(operations=VECTOR_OPS, query_seed=st.integers(0, 2**31), k=st.integers(1, 12))
def test_search_always_agrees_with_brute_force(
    make_index: Callable[[int], Any], operations: list[tuple[str, int, int]], query_seed: int, k: int
) -> None:
    dimension = 8
    index = make_index(dimension)
    model: dict[str, IndexedVector] = {}
    for kind, number, seed in operations:
        video_id = f"x{number}"
        if kind == "delete":
            assert index.delete(video_id) is (video_id in model)
            model.pop(video_id, None)
            continue
        rng = np.random.default_rng(seed)
        vector = rng.standard_normal(dimension).astype(np.float32)
        item = IndexedVector(
            video_id=video_id,
            vector=(vector / np.linalg.norm(vector)).astype(np.float32),
            status=["validated", "rejected"][seed % 2],
            mob_id=[None, "m1", "m2"][seed % 3],
        )
        index.upsert(item)
        model[video_id] = item
    assert index.count() == len(model)
    query = np.random.default_rng(query_seed).standard_normal(dimension).astype(np.float32)
    query /= np.linalg.norm(query)
    for filters in ({}, {"status": "validated"}, {"mob_id": "m1"}):
        keep = [x for x in model.values() if all(getattr(x, name) == value for name, value in filters.items())]
        scores = sorted((float(np.dot(x.vector, query)) for x in keep), reverse=True)[:k]
        hits = index.search(query, k=k, **filters)
        assert [h.score for h in hits] == pytest.approx(scores, abs=1e-4)
        assert len({h.video_id for h in hits}) == len(hits)
        assert all(h.video_id in {x.video_id for x in keep} for h in hits)
