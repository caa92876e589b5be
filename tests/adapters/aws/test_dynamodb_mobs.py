"""DynamoDBMobStore specifics: wire format, atomic counts, and concurrent assignment from 8 threads."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore
from milkmobs.core.mobs import join_mob
from milkmobs.domain import BackendUnavailableError, ConflictError, Mob, NotFoundError

T0 = datetime(2026, 11, 26, tzinfo=UTC)


def _mob(mob_id: str, dim: int = 8, seed: int = 0) -> Mob:
    vector = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return Mob(
        mob_id=mob_id, name=f"mob {mob_id}", centroid=vector / np.linalg.norm(vector), created_at=T0, updated_at=T0
    )


def test_item_stores_centroid_as_float32_bytes_and_hashtags_as_a_list(
    mob_store: DynamoDBMobStore, tables: AwsClients
) -> None:
    mob = _mob("m1").model_copy(update={"example_hashtags": ["milk", "gotmilk"]})
    mob_store.add(mob)
    item = tables.dynamodb().get_item(TableName="mobs", Key={"pk": {"S": "MOB"}, "mobId": {"S": "m1"}})["Item"]
    assert item["centroid"]["B"] == mob.centroid.astype("<f4").tobytes()
    assert item["exampleHashtags"] == {"L": [{"S": "milk"}, {"S": "gotmilk"}]}
    assert not any("SS" in value for value in item.values())
    empty = _mob("m2")
    mob_store.add(empty)
    item = tables.dynamodb().get_item(TableName="mobs", Key={"pk": {"S": "MOB"}, "mobId": {"S": "m2"}})["Item"]
    assert item["exampleHashtags"] == {"L": []}  # never an empty string set


def test_adjust_count_is_atomic_clamped_and_invalidates_stale_saves(mob_store: DynamoDBMobStore) -> None:
    mob_store.add(_mob("m1"))
    stale = mob_store.get("m1")
    assert mob_store.adjust_count("m1", 3).video_count == 3
    with pytest.raises(ConflictError):  # the count moved since `stale` was read
        mob_store.save(stale.model_copy(update={"video_count": 1}), expected_version=stale.version)
    assert mob_store.adjust_count("m1", -10).video_count == 0
    with pytest.raises(NotFoundError):
        mob_store.adjust_count("nope", 1)
    with pytest.raises(NotFoundError):
        mob_store.save(_mob("nope"), expected_version=0)


@pytest.mark.usefixtures("atomic_moto_dynamodb")
def test_eight_threads_assign_1000_videos_and_every_count_matches(mob_store: DynamoDBMobStore) -> None:
    mob_ids = [f"mob{i:02d}" for i in range(25)]
    for i, mob_id in enumerate(mob_ids):
        mob_store.add(_mob(mob_id, seed=i))
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(1000, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    targets = [mob_ids[int(i)] for i in rng.integers(0, len(mob_ids), size=1000)]
    # the core's own versioned read-modify-write loop; it only needs the mob store and a clock
    ports: Any = SimpleNamespace(mobs=mob_store, clock=SimpleNamespace(now=lambda: T0))

    def assign(index: int) -> None:
        join_mob(ports, mob_store.get(targets[index]), vectors[index])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(assign, range(1000)))

    expected = Counter(targets)
    stored = {mob.mob_id: mob for mob in mob_store.list_all()}
    assert {mob_id: mob.video_count for mob_id, mob in stored.items()} == {m: expected[m] for m in mob_ids}
    # one successful versioned save per member: nothing was overwritten
    assert all(stored[m].version == expected[m] for m in mob_ids)
    assert sum(mob.video_count for mob in stored.values()) == 1000
    for mob in stored.values():
        assert abs(float(np.linalg.norm(mob.centroid)) - 1.0) < 1e-4


class _Throttling:
    """A DynamoDB client whose BatchGetItem hands back the first ``throttled`` calls' last key as
    unprocessed (what DynamoDB does under throttling), and records what each call returned."""

    def __init__(self, client: Any, throttled: int) -> None:
        self._client = client
        self.throttled = throttled
        self.returned: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, **request: Any) -> Any:
        if self.throttled:
            self.throttled -= 1
            ((table, ask),) = request["RequestItems"].items()
            held, keys = ask["Keys"][-1], ask["Keys"][:-1]
            response = (
                self._client.batch_get_item(RequestItems={table: {**ask, "Keys": keys}})
                if keys
                else {"Responses": {table: []}}
            )
            response["UnprocessedKeys"] = {table: {**ask, "Keys": [held]}}
        else:
            response = self._client.batch_get_item(**request)
        self.returned.extend(item for items in response["Responses"].values() for item in items)
        return response


def test_names_reads_no_centroid_and_asks_again_for_unprocessed_keys(tables: AwsClients) -> None:
    client = _Throttling(tables.dynamodb(), throttled=2)
    store = DynamoDBMobStore(client, "mobs")  # type: ignore[arg-type]
    for i in range(3):
        store.add(_mob(f"m{i}", seed=i))
    assert store.names(["m0", "m1", "m2", "ghost"]) == {"m0": "mob m0", "m1": "mob m1", "m2": "mob m2"}
    assert client.throttled == 0
    assert sorted(item["mobId"]["S"] for item in client.returned) == ["m0", "m1", "m2"]
    assert all(set(item) == {"mobId", "name"} for item in client.returned)


def test_names_gives_up_with_a_retryable_error_when_keys_stay_unprocessed(
    tables: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("milkmobs.adapters.aws.dynamodb_mobs.time.sleep", lambda _seconds: None)
    store = DynamoDBMobStore(_Throttling(tables.dynamodb(), throttled=1000), "mobs")  # type: ignore[arg-type]
    store.add(_mob("m0"))
    with pytest.raises(BackendUnavailableError, match="unprocessed"):
        store.names(["m0", "m1"])
