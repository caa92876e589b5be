"""The persisted vector index's in-memory side: which video is in which slot, and exact top-k.

``SlotTable`` mirrors the committed ``vectors`` rows of ``index.sqlite3`` as numpy arrays, so
filtering by status or mob is an integer comparison over all slots, not a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from milkmobs.ports import VectorHit

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float32]
IndexArray = npt.NDArray[np.intp]
SlotRow = tuple[str, int, str, str | None]  # (video_id, slot, status, mob_id), as stored in SQLite

_UNIT_TOLERANCE = 1e-6  # |1/norm - 1| below this: the vector counts as unit, its dot product is the cosine


class SlotTable:
    """Slots ``0..used-1``: alive (a video points at it) or a tombstone (deleted or replaced)."""

    def __init__(self, capacity: int) -> None:
        self.alive: BoolArray = np.zeros(capacity, dtype=bool)
        self.inv_norms: FloatArray = np.zeros(capacity, dtype=np.float32)
        self._status_of = np.full(capacity, -1, dtype=np.int32)
        self._mob_of = np.full(capacity, -1, dtype=np.int32)
        self.ids: list[str] = []  # slot -> video id ("" for slots no video ever had)
        self.rows: dict[str, int] = {}  # video id -> its live slot
        self.used = 0
        self._status_codes: dict[str, int] = {}
        self._mob_codes: dict[str, int] = {}
        self._all_unit: bool | None = None  # None: unknown since the last change
        self.revision = 0  # counts changes of rows, so derived state (mob bounds) knows when to follow

    @property
    def mob_of(self) -> npt.NDArray[np.int32]:
        """Each slot's mob code (-1: no mob); read-only use."""
        return self._mob_of

    def mob_names(self, codes: npt.NDArray[np.int32]) -> list[str]:
        names = {code: name for name, code in self._mob_codes.items()}
        return [names[int(code)] for code in codes]

    def mob_codes(self, names: Sequence[str]) -> npt.NDArray[np.int32]:
        """The code of each mob name (-2, which no slot has, for a mob this table does not know)."""
        return np.array([self._mob_codes.get(name, -2) for name in names], dtype=np.int32)

    @property
    def tombstones(self) -> int:
        return self.used - len(self.rows)

    def place(self, rows: Sequence[SlotRow]) -> None:
        """Record committed rows; a video's previous slot becomes a tombstone."""
        if not rows:
            return
        self.revision += 1
        moved = [old for vid, slot, _, _ in rows if (old := self.rows.get(vid)) is not None and old != slot]
        self.alive[moved] = False
        slots = np.fromiter((row[1] for row in rows), dtype=np.intp, count=len(rows))
        top = int(slots.max()) + 1
        if top > self.used:
            self.extend_to(top)
        for vid, slot, _, _ in rows:
            self.ids[slot] = vid
            self.rows[vid] = slot
        self.alive[slots] = True
        statuses, mobs = self._status_codes, self._mob_codes
        self._status_of[slots] = [statuses.setdefault(status, len(statuses)) for _, _, status, _ in rows]
        self._mob_of[slots] = [-1 if mob is None else mobs.setdefault(mob, len(mobs)) for _, _, _, mob in rows]

    def extend_to(self, used: int) -> None:
        """Count slots up to ``used`` as used (tombstones until something is placed there)."""
        if used > self.used:
            self.ids.extend([""] * (used - self.used))
            self.used = used

    def remove(self, video_id: str) -> None:
        slot = self.rows.pop(video_id)
        self.alive[slot] = False
        self.revision += 1

    def describe(self, slots: Sequence[int]) -> list[SlotRow]:
        """The rows of live ``slots``, as SQLite holds them."""
        statuses = {code: name for name, code in self._status_codes.items()}
        mobs = {code: name for name, code in self._mob_codes.items()}
        return [
            (self.ids[slot], slot, statuses[int(self._status_of[slot])], mobs.get(int(self._mob_of[slot])))
            for slot in slots
        ]

    def set_norms(self, first: int, vectors: FloatArray) -> None:
        """Inverse norms of ``vectors``, just written to slots ``first..``."""
        self.inv_norms[first : first + len(vectors)] = inverse_norms(vectors)
        self._all_unit = None

    def refresh_norms(self, matrix: FloatArray) -> None:
        """Inverse norms of every live slot, from one pass over the used rows of ``matrix`` (a view)."""
        if self.used:
            with np.errstate(divide="ignore"):  # rows never written are zero; they are not alive
                inverse = inverse_norms(matrix[: self.used])
            self.inv_norms[: self.used] = np.where(self.alive[: self.used], inverse, 0.0)
        self._all_unit = None

    def mask(self, mob_id: str | None, status: str | None, exclude: str | None) -> BoolArray | None:
        """Which used slots may be returned; None when nothing can match."""
        n = self.used
        mask = self.alive[:n].copy()
        if status is not None:
            if status not in self._status_codes:
                return None
            mask &= self._status_of[:n] == self._status_codes[status]
        if mob_id is not None:
            if mob_id not in self._mob_codes:
                return None
            mask &= self._mob_of[:n] == self._mob_codes[mob_id]
        if exclude is not None and exclude in self.rows:
            mask[self.rows[exclude]] = False
        return mask if mask.any() else None

    def scaled(self, scores: FloatArray, slots: IndexArray | None) -> FloatArray:
        """Dot products to cosines: times each row's inverse norm (``slots``: the scored rows, None for all
        used ones), skipped when every stored vector is unit length."""
        if self._all_unit is None:
            live = self.inv_norms[: self.used][self.alive[: self.used]]
            self._all_unit = bool(np.all(np.abs(live - 1.0) <= _UNIT_TOLERANCE))
        if self._all_unit:
            return scores
        scaled: FloatArray = scores * (self.inv_norms[: self.used] if slots is None else self.inv_norms[slots])
        return scaled

    def hits(self, scores: FloatArray, slots: IndexArray, top: IndexArray) -> list[VectorHit]:
        """``VectorHit``s for positions ``top`` of ``scores``/``slots``, best first, equal scores by id."""
        # Python floats from tolist(): clipping each with np.clip cost more than the top-k selection.
        hits = [
            VectorHit(video_id=self.ids[slot], score=min(1.0, max(-1.0, score)))
            for score, slot in zip(scores[top].tolist(), slots[top].tolist(), strict=True)
        ]
        hits.sort(key=lambda hit: (-hit.score, hit.video_id))
        return hits


def top_k_per_row(scores: FloatArray, k: int) -> list[IndexArray]:
    """For each row of ``scores`` (shape ``(b, n)``), the column indices of its ``k`` largest values, best
    first, equal values by lower column.

    Exact, but cheaper than ``argpartition`` on long rows: the k-th largest of many chunk maxima is
    a value that at least ``k`` entries reach, so it bounds the true k-th largest from below; one
    vectorised comparison then leaves a handful of candidates per row to sort.
    """
    rows, n = scores.shape
    if n <= k:
        return list(np.argsort(-scores, axis=1, kind="stable"))
    chunks = min(n // 16, 32 * k)
    if chunks < 2 * k:  # short rows: a stable sort is cheap enough, and keeps ties by lower column
        return list(np.argsort(-scores, axis=1, kind="stable")[:, :k])
    starts = np.linspace(0, n, chunks, endpoint=False).astype(np.intp)
    maxima = np.maximum.reduceat(scores, starts, axis=1)
    threshold = np.partition(maxima, chunks - k, axis=1)[:, chunks - k]
    hit_rows, hit_cols = np.nonzero(scores >= threshold[:, np.newaxis])
    bounds = np.searchsorted(hit_rows, np.arange(rows + 1))
    result: list[IndexArray] = []
    for r in range(rows):
        cols = hit_cols[bounds[r] : bounds[r + 1]]
        result.append(cols[np.argsort(-scores[r, cols], kind="stable")[:k]])
    return result


def top_k_by_score_then_slot(scores: FloatArray, slots: IndexArray, k: int) -> IndexArray:
    """Positions of the ``k`` best ``scores``, best first, equal scores by lower slot: the order
    :func:`top_k_per_row` gives over a full scan, whose columns are the slots in order."""
    if len(scores) > k:
        floor = np.partition(scores, len(scores) - k)[len(scores) - k]
        near = np.flatnonzero(scores >= floor)
    else:
        near = np.arange(len(scores))
    best: IndexArray = near[np.lexsort((slots[near], -scores[near]))[:k]]
    return best


def inverse_norms(rows: FloatArray) -> FloatArray:
    """1 / the L2 norm of each row (einsum: one pass, no squared temporary)."""
    inverse: FloatArray = (1.0 / np.sqrt(np.einsum("ij,ij->i", rows, rows, dtype=np.float64))).astype(np.float32)
    return inverse
