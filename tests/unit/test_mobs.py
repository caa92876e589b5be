"""Incremental and batch clustering against the stores."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import pytest
from tests.unit.core_support import DIMENSION, all_mobs, all_videos, make_app, put_validated, unit

from milkmobs.adapters.memory import InMemoryMobStore, InMemoryVideoStore
from milkmobs.core import steps
from milkmobs.domain import Mob, VersionConflictError, VideoStatus


def _axis(i: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    v = np.zeros(DIMENSION, dtype=np.float32)
    v[i] = 1.0
    if noise:
        v += np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32) * noise
    return unit(v)


class CountingMobStore(InMemoryMobStore):
    """Counts calls; ``conflicts`` makes the next saves fail as if another writer came first."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.conflicts = 0

    def __getattribute__(self, name: str) -> Any:
        if name in {"add", "get", "list_all", "save", "adjust_count", "delete"}:
            object.__getattribute__(self, "calls")[name] += 1
        return object.__getattribute__(self, name)

    def save(self, mob: Mob, *, expected_version: int) -> Mob:
        if self.conflicts:
            self.conflicts -= 1
            raise VersionConflictError("simulated concurrent writer")
        return super().save(mob, expected_version=expected_version)


class CountingVideoStore(InMemoryVideoStore):
    def __init__(self) -> None:
        super().__init__()
        self.listed = 0

    def list_by_status(self, *args: Any, **kwargs: Any) -> Any:
        self.listed += 1
        return super().list_by_status(*args, **kwargs)


def test_join_the_nearest_mob_above_the_threshold_else_found_one() -> None:
    with make_app(settings={"clustering": {"join_threshold": 0.8}}) as app:
        a = put_validated(app, _axis(0))
        a_mob = steps.cluster_video(app.context, a)
        b = put_validated(app, unit(_axis(0) + 0.3 * _axis(1)))  # cosine ≈ 0.96 with a
        assert steps.cluster_video(app.context, b).mob_id == a_mob.mob_id  # type: ignore[union-attr]
        c = put_validated(app, _axis(2))  # orthogonal: a new mob
        assert steps.cluster_video(app.context, c).mob_id != a_mob.mob_id  # type: ignore[union-attr]
        joined = app.ports.mobs.get(a_mob.mob_id)  # type: ignore[union-attr]
        assert joined.video_count == 2 and joined.version == 1
        assert float(np.linalg.norm(joined.centroid)) == pytest.approx(1.0, abs=1e-6)
        expected = unit(_axis(0) + unit(_axis(0) + 0.3 * _axis(1)))
        assert np.allclose(joined.centroid, expected, atol=1e-6)


def test_incremental_clustering_makes_a_bounded_number_of_store_calls() -> None:
    mobs, videos = CountingMobStore(), CountingVideoStore()
    with make_app(mobs=mobs, videos=videos) as app:
        ids = [put_validated(app, _axis(i % 4, 0.05, seed=i)) for i in range(40)]
        counts = []
        for video_id in ids:
            mobs.calls.clear()
            steps.cluster_video(app.context, video_id)
            counts.append(sum(mobs.calls.values()))
        assert max(counts) <= 3  # list_all + save (or add): never grows with the number of videos
        assert videos.listed == 0  # and never a scan of the videos
        assert len(all_mobs(app)) == 4


def test_a_version_clash_is_retried_with_a_fresh_read() -> None:
    mobs = CountingMobStore()
    with make_app(mobs=mobs) as app:
        first = put_validated(app, _axis(0))
        steps.cluster_video(app.context, first)
        second = put_validated(app, _axis(0, 0.01))
        mobs.conflicts = 2
        mobs.calls.clear()
        mob = steps.cluster_video(app.context, second)
        assert mob is not None and mob.video_count == 2
        assert mobs.calls["save"] == 3 and mobs.calls["get"] == 2


def test_concurrent_clustering_loses_no_count() -> None:
    with make_app(settings={"clustering": {"join_threshold": 0.5}}) as app:
        ids = [put_validated(app, _axis(0, 0.05, seed=i)) for i in range(30)]
        steps.cluster_video(app.context, ids[0])
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(partial(steps.cluster_video, app.context), ids[1:]))
        [mob] = all_mobs(app)
        assert mob.video_count == 30


def test_recluster_keeps_mob_ids_and_names_mobs_from_members() -> None:
    with make_app(settings={"clustering": {"batch_k": 3, "join_threshold": 0.7}}) as app:
        for i in range(30):
            tag = ["skate", "beach", "kitchen"][i % 3]
            steps.cluster_video(app.context, put_validated(app, _axis(i % 3, 0.03, seed=i), hashtags=["gotmilk", tag]))
        before = {m.mob_id: m.video_count for m in all_mobs(app)}
        report = app.recluster()
        assert report.videos == 30 and report.mobs == 3
        assert sorted(report.kept_mob_ids) == sorted(before) and report.new_mob_ids == []
        assert {m.name for m in all_mobs(app)} == {"#skate", "#beach", "#kitchen"}
        again = app.recluster()
        assert sorted(again.kept_mob_ids) == sorted(before) and again.removed_mob_ids == []
        members = Counter(v.mob_id for v in all_videos(app, VideoStatus.VALIDATED))
        assert members == Counter({m.mob_id: m.video_count for m in all_mobs(app)})


def test_recluster_merges_split_mobs_and_removes_the_emptied_ones() -> None:
    # A tight join threshold makes many small mobs; the batch run with k=2 consolidates them.
    with make_app(settings={"clustering": {"batch_k": 2, "join_threshold": 0.999}}) as app:
        ids = [put_validated(app, _axis(i % 2, 0.2, seed=i)) for i in range(12)]
        for video_id in ids:
            steps.cluster_video(app.context, video_id)
        assert len(all_mobs(app)) > 2
        report = app.recluster()
        assert len(all_mobs(app)) == 2 and report.removed_mob_ids
        for mob in all_mobs(app):
            assert float(np.linalg.norm(mob.centroid)) == pytest.approx(1.0, abs=1e-5)
            hits = app.ports.index.search(mob.centroid, k=20, mob_id=mob.mob_id)
            assert len(hits) == mob.video_count  # the index metadata follows the move


def test_recluster_with_no_validated_video_removes_every_mob() -> None:
    with make_app() as app:
        video_id = put_validated(app, _axis(0))
        steps.cluster_video(app.context, video_id)
        app.delete_video(video_id)
        assert len(all_mobs(app)) == 1 and app.list_mobs() == []
        report = app.recluster()
        assert report.videos == 0 and len(report.removed_mob_ids) == 1 and all_mobs(app) == []


def test_a_video_whose_mob_was_removed_is_placed_again() -> None:
    with make_app() as app:
        video_id = put_validated(app, _axis(0))
        mob = steps.cluster_video(app.context, video_id)
        app.ports.mobs.delete(mob.mob_id)  # type: ignore[union-attr]
        again = steps.cluster_video(app.context, video_id)
        assert again is not None and app.ports.mobs.get(again.mob_id).video_count == 1
        assert app.ports.videos.get(video_id).mob_id == again.mob_id


def test_recluster_without_k_refines_as_many_mobs_as_incremental_clustering_found() -> None:
    # 4 themes × 3 videos: sqrt(n/2) would merge themes; the active mob count keeps them apart.
    with make_app(settings={"clustering": {"join_threshold": 0.7}}) as app:
        for i in range(12):
            steps.cluster_video(app.context, put_validated(app, _axis(i % 4, 0.03, seed=i)))
        before = sorted(m.mob_id for m in all_mobs(app))
        assert len(before) == 4
        report = app.recluster()
        assert report.mobs == 4 and sorted(report.kept_mob_ids) == before


def test_past_the_sample_size_the_batch_fits_a_sample_and_assigns_every_video() -> None:
    # 60 videos in 3 themes, k-means on 15 of them: every video still lands in its theme's mob,
    # each centroid is its members' mean, and the mob ids and names survive as on the full path.
    settings = {"clustering": {"batch_k": 3, "join_threshold": 0.7, "batch_sample": 15}}
    with make_app(settings=settings) as app:
        themes = {}
        for i in range(60):
            tag = ["skate", "beach", "kitchen"][i % 3]
            video_id = put_validated(app, _axis(i % 3, 0.03, seed=i), hashtags=["gotmilk", tag])
            themes[video_id] = tag
            steps.cluster_video(app.context, video_id)
        before = sorted(m.mob_id for m in all_mobs(app))
        report = app.recluster()
        assert report.videos == 60 and report.mobs == 3 and sorted(report.kept_mob_ids) == before
        mobs = {m.mob_id: m for m in all_mobs(app)}
        assert {m.name for m in mobs.values()} == {"#skate", "#beach", "#kitchen"}
        videos = all_videos(app, VideoStatus.VALIDATED)
        for video in videos:
            assert mobs[video.mob_id].name == f"#{themes[video.video_id]}"  # type: ignore[index]
        for mob in mobs.values():
            members = [v.embedding.vector for v in videos if v.mob_id == mob.mob_id]  # type: ignore[union-attr]
            mean = np.sum(members, axis=0)
            assert mob.video_count == len(members) == 20
            assert np.allclose(mob.centroid, mean / np.linalg.norm(mean), atol=1e-5)


def test_the_batch_holds_embedding_rows_not_records() -> None:
    import tracemalloc

    from milkmobs.core.mobs import _read_validated

    with make_app(settings={"clustering": {"join_threshold": 0.7}}) as app:
        for i in range(400):
            put_validated(app, _axis(i % 4, 0.03, seed=i), hashtags=["gotmilk", "skate"], place=True)
        tracemalloc.start()
        kept = _read_validated(app.ports, sample=50, rng=np.random.default_rng(0))
        matrix = kept.matrix()
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert matrix.shape == (400, DIMENSION) and len(kept.features) == 50 and len(kept.slots) == 50
        assert held / 400 < 4 * DIMENSION * 2 + 1024  # ~ the row (plus its copy in the matrix), not a record
