"""Exact cosine k-NN on a numpy matrix (brute force: one matrix-vector product per search)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from milkmobs.domain import Vector, VideoStatus
from milkmobs.domain.errors import InvalidInputError
from milkmobs.ports import IndexedVector, VectorHit
from milkmobs.ports.vector_index import checked_vectors, unit_query

_NO_MOB = 0  # code of mob_id None


class InMemoryVectorIndex:
    """Thread-safe VectorIndex. Vectors are kept as given; scores are true cosines.

    Status and mob filters compare small integer codes, so a filtered search stays one
    vectorised pass over the rows.
    """

    def __init__(self, dimension: int, *, initial_capacity: int = 1024) -> None:
        if dimension < 1:
            raise InvalidInputError(f"dimension must be positive, got {dimension}", field="dimension")
        self._dimension = dimension
        capacity = max(1, initial_capacity)
        self._matrix = np.zeros((capacity, dimension), dtype=np.float32)
        self._inv_norms = np.zeros(capacity, dtype=np.float32)
        self._statuses = np.zeros(capacity, dtype=np.int32)
        self._mobs = np.zeros(capacity, dtype=np.int32)
        self._status_codes: dict[str, int] = {}
        self._mob_codes: dict[str | None, int] = {None: _NO_MOB}
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self._dimension

    def _checked(self, items: Sequence[IndexedVector]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The vectors as one float32 matrix and their inverse norms; InvalidInputError for any bad one."""
        matrix = checked_vectors(items, self._dimension)
        return matrix, (1.0 / np.linalg.norm(matrix, axis=1)).astype(np.float32)

    def upsert(self, item: IndexedVector) -> None:
        self.upsert_many([item])

    def upsert_many(self, items: Sequence[IndexedVector]) -> None:
        if not items:
            return
        matrix, inv_norms = self._checked(items)  # all or nothing: validate before writing
        with self._lock:
            fresh = len({item.video_id for item in items if item.video_id not in self._rows})
            self._grow(len(self._ids) + fresh)  # at most one reallocation per batch
            rows = np.empty(len(items), dtype=np.int64)
            for position, item in enumerate(items):
                row = self._rows.get(item.video_id)
                if row is None:
                    row = len(self._ids)
                    self._ids.append(item.video_id)
                    self._rows[item.video_id] = row
                rows[position] = row
                self._statuses[row] = self._status_codes.setdefault(item.status, len(self._status_codes) + 1)
                self._mobs[row] = self._mob_codes.setdefault(item.mob_id, len(self._mob_codes))
            # Duplicate ids in one batch: the last one wins, as with repeated upserts.
            self._matrix[rows] = matrix
            self._inv_norms[rows] = inv_norms

    def _grow(self, needed: int) -> None:
        capacity = self._matrix.shape[0]
        if needed <= capacity:
            return
        # 1.5x keeps the peak (old + new matrix) near 2.5x the live data instead of 3x when doubling.
        new_capacity = max(needed, capacity + capacity // 2)
        used = len(self._ids)
        matrix = np.empty((new_capacity, self._dimension), dtype=np.float32)
        matrix[:used] = self._matrix[:used]
        self._matrix = matrix
        self._inv_norms = np.concatenate([self._inv_norms[:used], np.zeros(new_capacity - used, dtype=np.float32)])
        self._statuses = np.concatenate([self._statuses[:used], np.zeros(new_capacity - used, dtype=np.int32)])
        self._mobs = np.concatenate([self._mobs[:used], np.zeros(new_capacity - used, dtype=np.int32)])

    def delete(self, video_id: str) -> bool:
        with self._lock:
            row = self._rows.pop(video_id, None)
            if row is None:
                return False
            last = len(self._ids) - 1
            if row != last:  # move the last row into the hole so rows stay dense
                moved = self._ids[last]
                self._matrix[row] = self._matrix[last]
                self._inv_norms[row] = self._inv_norms[last]
                self._statuses[row] = self._statuses[last]
                self._mobs[row] = self._mobs[last]
                self._ids[row] = moved
                self._rows[moved] = row
            self._ids.pop()
            return True

    def video_ids(self) -> set[str]:
        with self._lock:
            return set(self._ids)

    def search(
        self,
        vector: Vector,
        *,
        k: int,
        mob_id: str | None = None,
        status: VideoStatus | None = None,
        exclude_video_id: str | None = None,
    ) -> list[VectorHit]:
        query = unit_query(vector, k=k, dimension=self._dimension)
        with self._lock:
            n = len(self._ids)
            mask: npt.NDArray[np.bool_] | None = None
            if status is not None:
                if status not in self._status_codes:
                    return []
                mask = self._statuses[:n] == self._status_codes[status]
            if mob_id is not None:
                if mob_id not in self._mob_codes:
                    return []
                in_mob = self._mobs[:n] == self._mob_codes[mob_id]
                mask = in_mob if mask is None else mask & in_mob
            candidates = np.arange(n) if mask is None else np.flatnonzero(mask)
            if candidates.size * 4 >= n:
                # Most rows match: score them all in place (no copy of the matrix), then keep the matches.
                scores = ((self._matrix[:n] @ query) * self._inv_norms[:n])[candidates]
            else:
                # A few rows match: copy and score only those.
                scores = (self._matrix[candidates] @ query) * self._inv_norms[candidates]
            if exclude_video_id is not None and exclude_video_id in self._rows:
                keep = candidates != self._rows[exclude_video_id]
                candidates, scores = candidates[keep], scores[keep]
            if candidates.size == 0:
                return []
            if candidates.size > k:
                # Partition first (O(n)), then sort only the best k.
                top = np.argpartition(-scores, k - 1)[:k]
                candidates, scores = candidates[top], scores[top]
            hits = [
                VectorHit(video_id=self._ids[int(row)], score=float(np.clip(score, -1.0, 1.0)))
                for row, score in zip(candidates, scores, strict=True)
            ]
        hits.sort(key=lambda h: (-h.score, h.video_id))
        return hits

    def get_vector(self, video_id: str) -> Vector | None:
        with self._lock:
            row = self._rows.get(video_id)
            return None if row is None else self._matrix[row].copy()

    def count(self) -> int:
        with self._lock:
            return len(self._ids)
