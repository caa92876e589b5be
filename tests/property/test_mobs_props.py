"""Clustering invariants over the stores: membership, counts, unit centroids, stable ids."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.core_support import DIMENSION, all_mobs, all_videos, make_app, put_validated, unit

from milkmobs.core import steps
from milkmobs.core.service import MilkMobs
from milkmobs.domain import VideoStatus

scenarios = st.fixed_dictionaries(
    {
        "n": st.integers(min_value=1, max_value=24),
        "centres": st.integers(min_value=1, max_value=5),
        "noise": st.sampled_from([0.0, 0.05, 0.2, 1.0]),
        "threshold": st.sampled_from([-1.0, 0.3, 0.75, 0.95, 1.0]),
        "k": st.none() | st.integers(min_value=1, max_value=6),
        "seed": st.integers(min_value=0, max_value=2**16),
        "deletions": st.integers(min_value=0, max_value=4),
    }
)
SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _vectors(n: int, centres: int, noise: float, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    middles = rng.standard_normal((centres, DIMENSION))
    return [unit(middles[rng.integers(centres)] + noise * rng.standard_normal(DIMENSION)) for _ in range(n)]


def assert_consistent(app: MilkMobs) -> None:
    """Every validated video is in exactly one existing mob, counts equal members, centroids are unit."""
    mobs = {m.mob_id: m for m in all_mobs(app)}
    validated = all_videos(app, VideoStatus.VALIDATED)
    members = Counter(v.mob_id for v in validated)
    assert None not in members
    assert set(members) <= set(mobs)
    for mob_id, mob in mobs.items():
        assert mob.video_count == members.get(mob_id, 0)
        assert abs(float(np.linalg.norm(mob.centroid)) - 1.0) < 1e-5
        hits = app.ports.index.search(mob.centroid, k=100, mob_id=mob_id, status="validated")
        assert len(hits) == mob.video_count  # the index agrees with the records


@SLOW
@given(scenarios)
def test_clustering_keeps_every_invariant(s) -> None:  # type: ignore[no-untyped-def]
    settings_ = {"random_seed": s["seed"], "clustering": {"join_threshold": s["threshold"], "batch_k": s["k"]}}
    with make_app(settings=settings_) as app:
        ids = [put_validated(app, v) for v in _vectors(s["n"], s["centres"], s["noise"], s["seed"])]
        for video_id in ids:
            steps.cluster_video(app.context, video_id)
        assert_consistent(app)
        for video_id in ids[: s["deletions"]]:
            app.delete_video(video_id)
        assert_consistent(app)
        app.recluster()
        assert_consistent(app)
        assert all(m.video_count > 0 for m in all_mobs(app))  # emptied mobs are removed by the batch run


@SLOW
@given(scenarios)
def test_reclustering_unchanged_data_keeps_every_mob_id(s) -> None:  # type: ignore[no-untyped-def]
    with make_app(settings={"random_seed": s["seed"], "clustering": {"batch_k": s["k"]}}) as app:
        for v in _vectors(s["n"], s["centres"], s["noise"], s["seed"]):
            steps.cluster_video(app.context, put_validated(app, v))
        app.recluster()
        before = {m.mob_id: m.video_count for m in all_mobs(app)}
        report = app.recluster()
        assert sorted(report.kept_mob_ids) == sorted(before)
        assert report.new_mob_ids == [] and report.removed_mob_ids == []
        assert {m.mob_id: m.video_count for m in all_mobs(app)} == before
