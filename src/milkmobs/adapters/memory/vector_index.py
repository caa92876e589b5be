"""Exact cosine k-NN on a numpy matrix (brute force: one matrix-vector product per search)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from milkmobs.domain import Vector, as_vector
from milkmobs.domain.errors import InvalidInputError
from milkmobs.ports import IndexedVector, VectorHit


class InMemoryVectorIndex:
    """Thread-safe VectorIndex. Vectors are kept as given; scores are true cosines."""

    def __init__(self, dimension: int, *, initial_capacity: int = 1024) -> None:
        if dimension < 1:
            raise InvalidInputError(f"dimension must be positive, got {dimension}", field="dimension")
        self._dimension = dimension
        capacity = max(1, initial_capacity)
        self._matrix = np.zeros((capacity, dimension), dtype=np.float32)
        self._inv_norms = np.zeros(capacity, dtype=np.float32)
        self._statuses = np.empty(capacity, dtype=object)
        self._mobs = np.empty(capacity, dtype=object)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self._dimension

    def _checked(self, item: IndexedVector) -> tuple[IndexedVector, Vector, float]:
        vector = as_vector(item.vector, dimension=self._dimension, field="embedding")
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            raise InvalidInputError(f"embedding of video {item.video_id} is a zero vector", field="embedding")
        return item, vector, 1.0 / norm

    def upsert(self, item: IndexedVector) -> None:
        self.upsert_many([item])

    def upsert_many(self, items: Sequence[IndexedVector]) -> None:
        checked = [self._checked(item) for item in items]  # all or nothing: validate before writing
        with self._lock:
            for item, vector, inv_norm in checked:
                row = self._rows.get(item.video_id)
                if row is None:
                    row = len(self._ids)
                    self._grow(row + 1)
                    self._ids.append(item.video_id)
                    self._rows[item.video_id] = row
                self._matrix[row] = vector
                self._inv_norms[row] = inv_norm
                self._statuses[row] = item.status
                self._mobs[row] = item.mob_id

    def _grow(self, needed: int) -> None:
        capacity = self._matrix.shape[0]
        if needed <= capacity:
            return
        new_capacity = max(needed, capacity * 2)
        self._matrix = np.resize(self._matrix, (new_capacity, self._dimension))
        self._inv_norms = np.resize(self._inv_norms, new_capacity)
        self._statuses = np.resize(self._statuses, new_capacity)
        self._mobs = np.resize(self._mobs, new_capacity)

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
            self._statuses[last] = None
            self._mobs[last] = None
            return True

    def search(
        self,
        vector: Vector,
        *,
        k: int,
        mob_id: str | None = None,
        status: str | None = None,
        exclude_video_id: str | None = None,
    ) -> list[VectorHit]:
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, got {k}", field="k")
        query = as_vector(vector, dimension=self._dimension, field="embedding")
        norm = float(np.linalg.norm(query))
        if norm == 0.0:
            raise InvalidInputError("cannot search with a zero vector", field="embedding")
        with self._lock:
            n = len(self._ids)
            if n == 0:
                return []
            scores = (self._matrix[:n] @ (query / norm)) * self._inv_norms[:n]
            mask: npt.NDArray[np.bool_] = np.ones(n, dtype=bool)
            if status is not None:
                mask &= self._statuses[:n] == status
            if mob_id is not None:
                mask &= self._mobs[:n] == mob_id
            if exclude_video_id is not None and exclude_video_id in self._rows:
                mask[self._rows[exclude_video_id]] = False
            candidates = np.flatnonzero(mask)
            if candidates.size > k:
                # Partition first (O(n)), then sort only the best k.
                top = np.argpartition(-scores[candidates], k - 1)[:k]
                candidates = candidates[top]
            ids = [self._ids[i] for i in candidates]
            hits = [
                VectorHit(video_id=vid, score=float(np.clip(scores[i], -1.0, 1.0)))
                for vid, i in zip(ids, candidates, strict=True)
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
