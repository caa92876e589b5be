"""MobStore contract: versioned centroids, atomic counts, largest-first listing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from milkmobs.domain import ConflictError, Mob, NotFoundError
from tests.contract.support import T0, awkward_vector

Store = Any


def make_mob(mob_id: str, *, count: int = 0, version: int = 0, seed: int = 1, dimension: int = 512) -> Mob:
    return Mob(
        mob_id=mob_id,
        name=f"Mob {mob_id}",
        description="skaters who drink milk",
        centroid=awkward_vector(dimension, seed=seed),
        video_count=count,
        example_hashtags=["gotmilk", "skate"],
        version=version,
        created_at=T0,
        updated_at=T0,
    )


def test_add_then_get_round_trips_with_a_bit_exact_centroid(mob_store: Store) -> None:
    mob = make_mob("m1", count=3)
    mob_store.add(mob)
    got = mob_store.get("m1")
    assert got == mob
    assert got.centroid.dtype == np.float32
    assert got.centroid.tobytes() == mob.centroid.tobytes()


def test_empty_example_hashtags_round_trip(mob_store: Store) -> None:
    mob = make_mob("m1").model_copy(update={"example_hashtags": [], "description": ""})
    mob_store.add(mob)
    assert mob_store.get("m1") == mob


def test_adding_an_existing_id_is_a_conflict_and_keeps_the_original(mob_store: Store) -> None:
    mob_store.add(make_mob("m1", count=1))
    with pytest.raises(ConflictError):
        mob_store.add(make_mob("m1", count=9, seed=2))
    assert mob_store.get("m1") == make_mob("m1", count=1)


def test_get_unknown_is_not_found(mob_store: Store) -> None:
    with pytest.raises(NotFoundError):
        mob_store.get("nope")


def test_save_with_the_expected_version_writes_and_bumps_the_version(mob_store: Store) -> None:
    mob_store.add(make_mob("m1"))
    moved = make_mob("m1", seed=5).model_copy(update={"name": "Renamed", "updated_at": T0 + timedelta(hours=1)})
    saved = mob_store.save(moved, expected_version=0)
    assert saved.version == 1
    got = mob_store.get("m1")
    assert got.version == 1
    assert got.name == "Renamed"
    assert got.updated_at == T0 + timedelta(hours=1)
    assert got.centroid.tobytes() == moved.centroid.tobytes()
    assert mob_store.save(got, expected_version=1).version == 2


def test_a_version_clash_is_a_conflict_and_changes_nothing(mob_store: Store) -> None:
    mob_store.add(make_mob("m1"))
    first = mob_store.get("m1")
    mob_store.save(first.model_copy(update={"name": "winner"}), expected_version=0)
    with pytest.raises(ConflictError):
        mob_store.save(
            first.model_copy(update={"name": "loser", "centroid": awkward_vector(512, 9)}), expected_version=0
        )
    got = mob_store.get("m1")
    assert got.name == "winner"
    assert got.version == 1
    assert got.centroid.tobytes() == first.centroid.tobytes()


def test_save_of_an_unknown_mob_is_not_found_and_creates_nothing(mob_store: Store) -> None:
    with pytest.raises(NotFoundError):
        mob_store.save(make_mob("ghost"), expected_version=0)
    assert mob_store.list_all() == []


def test_adjust_count_adds_and_never_goes_below_zero(mob_store: Store) -> None:
    mob_store.add(make_mob("m1", count=2))
    assert mob_store.adjust_count("m1", 3).video_count == 5
    assert mob_store.adjust_count("m1", -1).video_count == 4
    assert mob_store.get("m1").video_count == 4
    assert mob_store.adjust_count("m1", -10).video_count == 0
    assert mob_store.get("m1").video_count == 0
    assert mob_store.adjust_count("m1", 1).video_count == 1


def test_adjust_count_keeps_the_rest_of_the_mob(mob_store: Store) -> None:
    mob = make_mob("m1", count=2)
    mob_store.add(mob)
    adjusted = mob_store.adjust_count("m1", 1)
    assert adjusted.name == mob.name
    assert adjusted.centroid.tobytes() == mob.centroid.tobytes()
    # A later centroid save with the version the store reports still works.
    current = mob_store.get("m1")
    saved = mob_store.save(current.model_copy(update={"name": "after"}), expected_version=current.version)
    assert saved.version == current.version + 1
    assert mob_store.get("m1").video_count == 3


def test_adjust_count_of_an_unknown_mob_is_not_found(mob_store: Store) -> None:
    with pytest.raises(NotFoundError):
        mob_store.adjust_count("ghost", 1)


def test_delete_removes_only_that_mob_and_twice_is_not_found(mob_store: Store) -> None:
    mob_store.add(make_mob("m1"))
    mob_store.add(make_mob("m2", seed=2))
    mob_store.delete("m1")
    with pytest.raises(NotFoundError):
        mob_store.get("m1")
    with pytest.raises(NotFoundError):
        mob_store.delete("m1")
    assert [m.mob_id for m in mob_store.list_all()] == ["m2"]


def test_list_all_is_largest_first_with_ties_by_id(mob_store: Store) -> None:
    assert mob_store.list_all() == []
    for mob_id, count in [("b", 2), ("a", 2), ("c", 7), ("d", 0), ("e", 3)]:
        mob_store.add(make_mob(mob_id, count=count, seed=ord(mob_id)))
    assert [m.mob_id for m in mob_store.list_all()] == ["c", "e", "a", "b", "d"]
    mob_store.adjust_count("d", 10)
    listed = mob_store.list_all()
    assert [m.mob_id for m in listed] == ["d", "c", "e", "a", "b"]
    assert listed[0].video_count == 10
    assert listed[1] == make_mob("c", count=7, seed=ord("c"))


def test_names_maps_known_ids_to_names_and_leaves_unknown_ids_out(mob_store: Store) -> None:
    assert mob_store.names([]) == {}
    assert mob_store.names(["ghost"]) == {}
    mob_store.add(make_mob("m1"))
    mob_store.add(make_mob("m2", seed=2))
    assert mob_store.names(["m1", "ghost", "m1"]) == {"m1": "Mob m1"}
    assert mob_store.names({"m1", "m2"}) == {"m1": "Mob m1", "m2": "Mob m2"}


def test_names_follow_saves_and_deletes(mob_store: Store) -> None:
    mob_store.add(make_mob("m1"))
    mob_store.add(make_mob("m2", seed=2))
    mob_store.save(mob_store.get("m1").model_copy(update={"name": "Café crème ☕"}), expected_version=0)
    mob_store.adjust_count("m2", 4)
    mob_store.delete("m2")
    assert mob_store.names(["m1", "m2"]) == {"m1": "Café crème ☕"}


def test_names_of_more_ids_than_one_request_holds(mob_store: Store) -> None:
    known = [f"m{i:03d}" for i in range(120)]
    for i, mob_id in enumerate(known):
        mob_store.add(make_mob(mob_id, seed=i, dimension=8))
    asked = known + [f"ghost{i}" for i in range(520)]  # past every adapter's per-request key limit
    assert mob_store.names(asked) == {mob_id: f"Mob {mob_id}" for mob_id in known}
