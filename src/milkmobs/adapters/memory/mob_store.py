"""Mobs in a dict, guarded by an optimistic version."""

from __future__ import annotations

import threading
from collections.abc import Collection

from milkmobs.domain import Mob, NotFoundError
from milkmobs.domain.errors import ConflictError, VersionConflictError


def _copy(mob: Mob, **changes: object) -> Mob:
    """An independent copy: only the mutable parts (centroid, hashtag list) are duplicated, which is
    what a deep copy would protect, at a fraction of its cost (``list_all`` runs once per video)."""
    return mob.model_copy(
        update={"centroid": mob.centroid.copy(), "example_hashtags": list(mob.example_hashtags), **changes}
    )


class InMemoryMobStore:
    """Thread-safe MobStore in process memory. Returns copies."""

    def __init__(self) -> None:
        self._mobs: dict[str, Mob] = {}
        self._lock = threading.Lock()

    def add(self, mob: Mob) -> None:
        with self._lock:
            if mob.mob_id in self._mobs:
                raise ConflictError(f"mob {mob.mob_id} already exists")
            self._mobs[mob.mob_id] = _copy(mob)

    def get(self, mob_id: str) -> Mob:
        with self._lock:
            return _copy(self._require(mob_id))

    def list_all(self) -> list[Mob]:
        with self._lock:
            mobs = sorted(self._mobs.values(), key=lambda m: (-m.video_count, m.mob_id))
            return [_copy(m) for m in mobs]

    def names(self, mob_ids: Collection[str]) -> dict[str, str]:
        with self._lock:
            return {mob_id: mob.name for mob_id in set(mob_ids) if (mob := self._mobs.get(mob_id)) is not None}

    def save(self, mob: Mob, *, expected_version: int) -> Mob:
        with self._lock:
            current = self._require(mob.mob_id)
            if current.version != expected_version:
                raise VersionConflictError(
                    f"mob {mob.mob_id} is at version {current.version}, expected {expected_version}; "
                    "re-read it and retry"
                )
            stored = _copy(mob, version=expected_version + 1)
            self._mobs[mob.mob_id] = stored
            return _copy(stored)

    def adjust_count(self, mob_id: str, delta: int) -> Mob:
        with self._lock:
            current = self._require(mob_id)
            stored = current.counted(delta)
            self._mobs[mob_id] = stored
            return _copy(stored)

    def delete(self, mob_id: str) -> None:
        with self._lock:
            self._require(mob_id)
            del self._mobs[mob_id]

    def _require(self, mob_id: str) -> Mob:
        mob = self._mobs.get(mob_id)
        if mob is None:
            raise NotFoundError(f"mob {mob_id} not found")
        return mob
