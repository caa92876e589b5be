"""Skipping whole mobs in an exact cosine search, with triangle-inequality bounds on angles.

For a fixed unit centre ``c`` of a mob and ``r``, the largest angle between ``c`` and a member, every
member ``x`` has ``angle(q, x) >= angle(q, c) - r``, so ``cos(q, x) <= cos(max(0, angle(q, c) - r))``.
A search scores the mobs with the highest bounds first, then only the mobs whose bound reaches the
k-th best score found so far: the others cannot place a row in the top k, so the answer is the full
scan's.

``MobBounds`` is built from one generation's rows: the clustered rows copied in mob order (a mob is
one contiguous block, scored by one matrix-vector product: gathering scattered rows costs as much as
scanning them all), each mob's centre (its normalised mean) and radius. Any fixed centre keeps the
bound true, so changes after the build never touch them: a row that leaves stays in its block and is
filtered out like any row the search may not return, and a row that joins a mob, changes mob or gets
a new vector is *loose* — scored directly by every search, like the rows of no mob. ``refresh`` works
that out again from the slot table after each change; once loose rows pile up the index builds anew.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.vector_slots import BoolArray, FloatArray, IndexArray, SlotTable

# Cosine slack on every bound: float32 scores of a row may exceed the exact cosine by a few ulps per
# dimension (and unit rows are not rescaled up to 1e-6 off), so a true hit is never skipped.
BOUND_SLACK = 1e-4
_LOOSE_SHARE = 8  # rebuild once loose clustered rows exceed 1/8 of the copied ones
# Diffuse mobs (radii near the angles between them) prove nothing, and the bounds then cost more than
# they save: past this share of rows scored (a running mean over at least _JUDGED searches) they are
# judged diffuse.
_WORTH_SHARE = 0.6
_JUDGED = 32


class MobBounds:
    """Centres, radii and a mob-ordered copy of the clustered rows of one generation."""

    def __init__(self, table: SlotTable, matrix: FloatArray, generation: int) -> None:
        self.generation = generation
        n = table.used
        mob_of = table.mob_of[:n]
        clustered = np.flatnonzero(table.alive[:n] & (mob_of >= 0))
        self._order: IndexArray = clustered[np.argsort(mob_of[clustered], kind="stable")]  # slots, by mob then slot
        codes = mob_of[self._order]
        boundaries = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        self._starts: IndexArray = np.concatenate(([0], boundaries)).astype(np.intp)
        self._ends: IndexArray = np.concatenate((boundaries, [len(codes)])).astype(np.intp)
        if not len(codes):
            self._starts = self._ends = np.zeros(0, dtype=np.intp)
        self.mob_names = table.mob_names(codes[self._starts])
        self._group_of: IndexArray = np.repeat(np.arange(len(self._starts)), self._ends - self._starts)
        self._rows: FloatArray = np.ascontiguousarray(matrix[self._order])
        self._centres = np.zeros((len(self._starts), matrix.shape[1]), dtype=np.float64)
        self._radii = np.zeros(len(self._starts), dtype=np.float64)
        for g, (start, end) in enumerate(zip(self._starts.tolist(), self._ends.tolist(), strict=True)):
            # float64: near-duplicate members put cosines at 1, where a float32 error is a large angle
            units = self._rows[start:end].astype(np.float64)
            units /= np.linalg.norm(units, axis=1, keepdims=True)
            centre = units.sum(axis=0)
            norm = float(np.linalg.norm(centre))
            centre = centre / norm if norm > 1e-9 else units[0]  # members cancelling out: any member will do
            self._centres[g] = centre
            self._radii[g] = float(np.arccos(np.clip((units @ centre).min(), -1.0, 1.0)))
        self._revision = -1
        self._table: SlotTable | None = None  # the table refresh last followed (held: an id could be reused)
        self._valid: BoolArray = np.zeros(len(self._order), dtype=bool)
        self._loose: IndexArray = np.zeros(0, dtype=np.intp)
        self.scored_share = 0.0  # running mean of the share of rows a search had to score
        self._calls = 0
        self.refresh(table)

    def diffuse(self) -> bool:
        """Whether searches have had to score most rows anyway (the answer is exact either way)."""
        return self._calls >= _JUDGED and self.scored_share > _WORTH_SHARE

    @property
    def mobs(self) -> int:
        return len(self._starts)

    def refresh(self, table: SlotTable) -> bool:
        """Follow ``table`` (of this generation): which copied rows still sit in their mob, which rows
        are loose. False when so many are loose that building anew is cheaper."""
        if table is self._table and table.revision == self._revision:
            return True
        n = table.used
        codes = table.mob_codes(self.mob_names)
        self._valid = table.alive[self._order] & (table.mob_of[self._order] == codes[self._group_of])
        covered = np.zeros(n, dtype=bool)
        covered[self._order[self._valid]] = True
        self._loose = np.flatnonzero(table.alive[:n] & ~covered)
        self._revision, self._table = table.revision, table
        loose_clustered = int(np.count_nonzero(table.mob_of[self._loose] >= 0))
        return loose_clustered * _LOOSE_SHARE <= max(len(self._order), 1024)

    def upper_bounds(self, query: FloatArray) -> npt.NDArray[np.float64]:
        """For each mob, a cosine no member can exceed against the unit ``query``."""
        angles = np.arccos(np.clip(self._centres @ query.astype(np.float64), -1.0, 1.0))
        bounds: npt.NDArray[np.float64] = np.cos(np.maximum(0.0, angles - self._radii)) + BOUND_SLACK
        return bounds

    def candidates(
        self, query: FloatArray, k: int, mask: BoolArray, table: SlotTable, matrix: FloatArray
    ) -> tuple[FloatArray, IndexArray]:
        """Scores and slots of every row the search may return that could be in its top ``k``: the loose
        rows, the best-bounded mobs, then every mob whose bound reaches the k-th best score so far."""
        loose = self._loose[mask[self._loose]]
        scores: list[FloatArray] = []
        slots: list[IndexArray] = []
        if len(loose):  # usually none: rows that moved since the build
            scores.append(table.scaled(matrix[loose] @ query, loose))
            slots.append(loose)
        bounds = self.upper_bounds(query)
        ranked = np.argsort(-bounds, kind="stable")
        sizes = (self._ends - self._starts)[ranked]
        first = int(np.searchsorted(np.cumsum(sizes), 2 * k)) + 1  # enough rows for a first k-th best
        self._score(ranked[:first], query, mask, table, scores, slots)
        found = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
        floor = -np.inf if len(found) < k else float(np.partition(found, len(found) - k)[len(found) - k])
        rest = ranked[first:]
        self._score(rest[bounds[rest] >= floor], query, mask, table, scores, slots)
        found = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
        found_slots = np.concatenate(slots) if slots else np.zeros(0, dtype=np.intp)
        share = len(found) / max(int(np.count_nonzero(mask)), 1)
        self.scored_share += (share - self.scored_share) * 0.1
        self._calls += 1
        return found, found_slots

    def _score(
        self,
        groups: IndexArray,
        query: FloatArray,
        mask: BoolArray,
        table: SlotTable,
        scores: list[FloatArray],
        slots: list[IndexArray],
    ) -> None:
        """Append the scores and slots of the returnable rows of ``groups``: one product per run of
        adjacent mobs, or one over the whole copy when most of it is wanted."""
        if not len(groups):
            return
        if 2 * int((self._ends - self._starts)[groups].sum()) >= len(self._order):
            chosen = np.zeros(len(self._starts), dtype=bool)
            chosen[groups] = True
            positions = np.flatnonzero(chosen[self._group_of])
            raw = (self._rows @ query)[positions]
        else:
            ordered = np.sort(groups)
            starts, ends = self._starts[ordered], self._ends[ordered]
            joined = np.flatnonzero(starts[1:] != ends[:-1]) + 1  # a run breaks where a mob is not adjacent
            run_starts = starts[np.concatenate(([0], joined))].tolist()
            run_ends = ends[np.concatenate((joined - 1, [len(ordered) - 1]))].tolist()
            raw = np.concatenate([self._rows[s:e] @ query for s, e in zip(run_starts, run_ends, strict=True)])
            positions = np.concatenate([np.arange(s, e) for s, e in zip(run_starts, run_ends, strict=True)])
        row_slots = self._order[positions]
        keep = self._valid[positions] & mask[row_slots]
        scores.append(table.scaled(raw, row_slots)[keep])
        slots.append(row_slots[keep])
