"""The mobs map: PCA to 2-D on the stored embeddings, bounded sample, coloured by mob."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tests.unit.core_support import OFF_TOPIC_BYTES, make_app, upload

from milkmobs.core.mob_map import MAX_MAP_POINTS, project_2d
from milkmobs.domain import InvalidInputError


def test_points_lying_in_a_plane_keep_their_distances() -> None:
    rng = np.random.default_rng(7)
    plane = rng.normal(size=(40, 2)) * [3.0, 1.0]
    basis, _ = np.linalg.qr(rng.normal(size=(64, 2)))  # an orthonormal 2-D plane in 64-D
    vectors = (plane @ basis.T + rng.normal(size=64)).astype(np.float32)
    coords, shares = project_2d(vectors)
    for i, j in itertools.combinations(range(40), 2):
        assert np.linalg.norm(coords[i] - coords[j]) == pytest.approx(np.linalg.norm(plane[i] - plane[j]), abs=1e-3)
    assert sum(shares) == pytest.approx(1.0, abs=1e-6) and shares[0] > shares[1] > 0


def test_the_same_data_draws_the_same_picture_and_the_first_axis_spreads_most() -> None:
    vectors = np.random.default_rng(3).normal(size=(30, 16)).astype(np.float32)
    first, _ = project_2d(vectors)
    again, _ = project_2d(vectors.copy())
    np.testing.assert_allclose(first, again)
    assert first[:, 0].var() >= first[:, 1].var()
    np.testing.assert_allclose(first.mean(axis=0), 0.0, atol=1e-5)


@pytest.mark.parametrize("rows", [0, 1])
def test_too_few_rows_project_to_the_origin(rows: int) -> None:
    coords, shares = project_2d(np.ones((rows, 8), dtype=np.float32))
    assert coords.shape == (rows, 2) and not coords.any() and shares == [0.0, 0.0]


def test_identical_rows_project_to_the_origin() -> None:
    coords, shares = project_2d(np.tile(np.arange(8, dtype=np.float32), (5, 1)))
    assert not coords.any() and shares == [0.0, 0.0]


def test_the_map_shows_validated_videos_by_mob_newest_first_within_the_bound() -> None:
    with make_app() as app:
        skate = [upload(app, title=f"skate {i}", hashtags=["gotmilk", "skate"]) for i in range(3)]
        beach = [upload(app, title=f"beach {i}", hashtags=["gotmilk", "beach"]) for i in range(3)]
        upload(app, data=OFF_TOPIC_BYTES)  # rejected: not on the map
        answer = app.mob_map()
        assert answer.sampled == 6 and answer.validated_total == 6
        by_id = {p.video_id: p for p in answer.points}
        assert set(by_id) == {v.video_id for v in skate + beach}
        assert {by_id[v.video_id].mob_id for v in skate} == {skate[0].mob_id}
        assert {by_id[v.video_id].mob_id for v in beach} == {beach[0].mob_id} != {skate[0].mob_id}
        assert by_id[skate[1].video_id].title == "skate 1"

        def far(a: str, b: str) -> float:
            return float(np.hypot(by_id[a].x - by_id[b].x, by_id[a].y - by_id[b].y))

        pairs = [pair for group in (skate, beach) for pair in itertools.combinations(group, 2)]
        within = max(far(a.video_id, b.video_id) for a, b in pairs)
        across = min(far(a.video_id, b.video_id) for a in skate for b in beach)
        assert within < across  # the two mobs are apart on the map

        newest = app.mob_map(limit=2)
        assert [p.video_id for p in newest.points] == [beach[2].video_id, beach[1].video_id]
        assert newest.sampled == 2 and newest.validated_total == 6


def test_an_empty_store_draws_an_empty_map() -> None:
    with make_app() as app:
        answer = app.mob_map()
        assert answer.points == [] and answer.sampled == 0 and answer.explained_variance == []


@pytest.mark.parametrize("limit", [0, MAX_MAP_POINTS + 1])
def test_a_limit_out_of_bounds_is_refused(limit: int) -> None:
    with make_app() as app, pytest.raises(InvalidInputError) as raised:
        app.mob_map(limit=limit)
    assert raised.value.field == "limit"
