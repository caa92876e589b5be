"""``PersistedVectorIndex``: exact cosine k-NN on float32, kept in a folder across restarts.

Layout of the folder:

- ``vectors-<generation>.npy`` — a memory-mapped ``(capacity, dimension)`` float32 matrix. Rows are
  *slots*; capacity doubles when full, by writing the next generation's file.
- ``index.sqlite3`` — which video lives in which slot, with its status and mob (the filters), plus
  the dimension and the current generation.

Why it is crash-safe: a vector is written to a slot no committed row points at, the matrix is
flushed, and only then does one SQLite transaction point the video at it. Replacing a vector
writes a new slot and leaves the old one as a tombstone; compaction rewrites the live rows into
the next generation's file and switches slots and generation in one transaction. Files of other
generations are leftovers of an interrupted rewrite and are removed on open.

Searches are one BLAS matrix-vector (or matrix-matrix, for :meth:`search_many`) product over the
used slots, scaled by the stored inverse norms, so scores are true cosines whatever the input norms.
One process owns the folder at a time (an exclusive ``flock``); threads share it through a lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.sqlite_db import Migration, SQLiteDatabase
from milkmobs.domain import BackendUnavailableError, ConfigurationError, InvalidInputError, Vector, as_vector
from milkmobs.ports import IndexedVector, VectorHit

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float32]
_QUERY_BLOCK = 128  # queries per matrix product in search_many: bounds the (block, n) score matrix
_UNIT_TOLERANCE = 1e-6  # |1/norm - 1| below this: the vector counts as unit, dot product = cosine


def top_k_per_row(scores: FloatArray, k: int) -> list[npt.NDArray[np.intp]]:
    """For each row of ``scores`` (shape ``(b, n)``), the column indices of its ``k`` largest values, best first.

    Exact, but cheaper than ``argpartition`` on long rows: the k-th largest of many chunk maxima is
    a value that at least ``k`` entries reach, so it bounds the true k-th largest from below; one
    vectorised comparison then leaves a handful of candidates per row to sort.
    """
    rows, n = scores.shape
    if n <= k:
        return list(np.argsort(-scores, axis=1, kind="stable"))
    chunks = min(n // 16, 32 * k)
    if chunks < 2 * k:  # short rows: a plain partition is cheap enough
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        return [t[np.argsort(-scores[r, t], kind="stable")] for r, t in enumerate(top)]
    starts = np.linspace(0, n, chunks, endpoint=False).astype(np.intp)
    maxima = np.maximum.reduceat(scores, starts, axis=1)
    threshold = np.partition(maxima, chunks - k, axis=1)[:, chunks - k]
    hit_rows, hit_cols = np.nonzero(scores >= threshold[:, np.newaxis])
    bounds = np.searchsorted(hit_rows, np.arange(rows + 1))
    result: list[npt.NDArray[np.intp]] = []
    for r in range(rows):
        cols = hit_cols[bounds[r] : bounds[r + 1]]
        result.append(cols[np.argsort(-scores[r, cols], kind="stable")[:k]])
    return result


INDEX_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        (
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE vectors (
                video_id TEXT PRIMARY KEY,
                slot INTEGER NOT NULL UNIQUE,
                status TEXT NOT NULL,
                mob_id TEXT
            )""",
        ),
    ),
)


class PersistedVectorIndex:
    """VectorIndex in ``directory``; reopening the folder gives back every vector and its filters."""

    _all_unit: bool | None  # None: unknown since the last write

    def __init__(
        self,
        directory: Path,
        dimension: int,
        *,
        initial_capacity: int = 1024,
        compact_min_tombstones: int = 1024,
    ) -> None:
        if dimension < 1:
            raise InvalidInputError(f"dimension must be positive, got {dimension}", field="dimension")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._dimension = dimension
        self._initial_capacity = max(1, initial_capacity)
        self._compact_min = max(1, compact_min_tombstones)
        self._lock = threading.RLock()
        self._lock_file = _acquire_folder_lock(self.directory / "index.lock")
        try:
            self._db = SQLiteDatabase(self.directory / "index.sqlite3", migrations=INDEX_MIGRATIONS)
        except BaseException:
            self._lock_file.close()
            raise
        try:
            self._open()
        except BaseException:
            self._db.close()
            self._lock_file.close()
            raise

    # --- VectorIndex -------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        return self._dimension

    def upsert(self, item: IndexedVector) -> None:
        self.upsert_many([item])

    def upsert_many(self, items: Sequence[IndexedVector]) -> None:
        latest = {item.video_id: item for item in items}  # a repeated id: the last one wins
        if not latest:
            return
        vectors = self._checked(list(latest.values()))  # refuse the whole batch before writing anything
        with self._lock, self._io("write vectors"):
            # A new or changed vector goes to a fresh slot; an unchanged one (a status or mob update) stays.
            fresh = [
                i
                for i, vid in enumerate(latest)
                if vid not in self._rows or not np.array_equal(self._matrix[self._rows[vid]], vectors[i])
            ]
            self._ensure_capacity(self._used + len(fresh))
            first = self._used
            slots = {vid: self._rows.get(vid, -1) for vid in latest}
            ids = list(latest)
            for offset, i in enumerate(fresh):
                slots[ids[i]] = first + offset
            if fresh:
                self._matrix[first : first + len(fresh)] = vectors[fresh]  # fresh slots are contiguous
                self._matrix.flush()  # the vectors are on disk before any row points at them
            rows = [(vid, slots[vid], item.status, item.mob_id) for vid, item in latest.items()]
            with self._db.write() as conn:
                conn.executemany(
                    "INSERT INTO vectors (video_id, slot, status, mob_id) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (video_id) DO UPDATE SET slot = excluded.slot, status = excluded.status,"
                    " mob_id = excluded.mob_id",
                    rows,
                )
            self._place(rows)
            if fresh:
                self._inv_norms[first : first + len(fresh)] = _inverse_norms(vectors[fresh])
                self._all_unit = None
            self._maybe_compact()

    def delete(self, video_id: str) -> bool:
        with self._lock, self._io("delete a vector"):
            slot = self._rows.get(video_id)
            if slot is None:
                return False
            with self._db.write() as conn:
                conn.execute("DELETE FROM vectors WHERE video_id = ?", (video_id,))
            del self._rows[video_id]
            self._alive[slot] = False
            self._maybe_compact()
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
        query = self._queries(as_vector(vector, dimension=self._dimension, field="embedding").reshape(1, -1), k)[0]
        with self._lock:
            mask = self._mask(mob_id, status, exclude_video_id)
            if mask is None:
                return []
            n = self._used
            if mask.all():
                candidates: npt.NDArray[np.intp] = np.arange(n)
                scores = self._scaled(self._matrix[:n] @ query, None)
            elif np.count_nonzero(mask) * 4 < n:  # selective filter: gather the few rows, score only them
                candidates = np.flatnonzero(mask)
                scores = self._scaled(self._matrix[candidates] @ query, candidates)
            else:
                candidates = np.flatnonzero(mask)
                scores = self._scaled(self._matrix[:n] @ query, None)[candidates]
            return self._hits(scores, candidates, top_k_per_row(scores[np.newaxis, :], k)[0])

    def search_many(
        self, vectors: npt.ArrayLike, *, k: int, mob_id: str | None = None, status: str | None = None
    ) -> list[list[VectorHit]]:
        """``search`` for each row of ``vectors`` (shape ``(q, dimension)``), as blocked matrix products."""
        queries = self._queries(np.asarray(vectors, dtype=np.float32), k)
        with self._lock:
            mask = self._mask(mob_id, status, None)
            if mask is None:
                return [[] for _ in range(queries.shape[0])]
            everything = bool(mask.all())
            candidates = np.arange(self._used) if everything else np.flatnonzero(mask)
            rows = self._matrix[: self._used] if everything else self._matrix[candidates]
            results: list[list[VectorHit]] = []
            for start in range(0, queries.shape[0], _QUERY_BLOCK):
                block = self._scaled(queries[start : start + _QUERY_BLOCK] @ rows.T, None if everything else candidates)
                for row_scores, top in zip(block, top_k_per_row(block, k), strict=True):
                    results.append(self._hits(row_scores, candidates, top))
            return results

    def get_vector(self, video_id: str) -> Vector | None:
        with self._lock:
            slot = self._rows.get(video_id)
            return None if slot is None else np.array(self._matrix[slot], dtype=np.float32)

    def count(self) -> int:
        with self._lock:
            return len(self._rows)

    # --- maintenance -----------------------------------------------------------------------------
    def compact(self) -> None:
        """Rewrite the live vectors densely into the next generation's file (drops tombstones)."""
        with self._lock, self._io("compact"):
            live = sorted(self._rows.items(), key=lambda pair: pair[1])
            self._rewrite(max(self._initial_capacity, 2 * len(live)), [slot for _, slot in live], compacting=True)

    def tombstones(self) -> int:
        """Slots holding a deleted or replaced vector (reclaimed by :meth:`compact`)."""
        with self._lock:
            return self._used - len(self._rows)

    def close(self) -> None:
        """Flush, close the database and release the folder."""
        with self._lock:
            self._matrix.flush()
            self._db.close()
            self._lock_file.close()

    @contextlib.contextmanager
    def _io(self, what: str) -> Iterator[None]:
        """File-system failures (disk full, a vanished file) as BackendUnavailableError naming the index.
        Nothing half-done is visible: slots only change when the SQLite transaction commits."""
        try:
            yield
        except OSError as exc:
            raise BackendUnavailableError(f"the vector index in {self.directory} could not {what}: {exc}") from exc

    # --- search helpers ----------------------------------------------------------------------------
    def _queries(self, queries: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
        """Unit-length float32 rows; InvalidInputError on a bad ``k``, shape or vector."""
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, got {k}", field="k")
        if queries.ndim != 2 or queries.shape[1] != self._dimension:
            raise InvalidInputError(
                f"queries have shape {queries.shape}, expected (q, {self._dimension})", field="embedding"
            )
        norms = np.linalg.norm(queries, axis=1, keepdims=True)
        if not np.all(np.isfinite(queries)) or np.any(norms == 0):
            raise InvalidInputError("cannot search with a zero or non-finite vector", field="embedding")
        unit: npt.NDArray[np.float32] = (queries / norms).astype(np.float32)
        return unit

    def _mask(self, mob_id: str | None, status: str | None, exclude: str | None) -> BoolArray | None:
        """Which used slots may be returned; None when nothing can match."""
        n = self._used
        mask = self._alive[:n].copy()
        if status is not None:
            if status not in self._status_codes:
                return None
            mask &= self._status_of[:n] == self._status_codes[status]
        if mob_id is not None:
            if mob_id not in self._mob_codes:
                return None
            mask &= self._mob_of[:n] == self._mob_codes[mob_id]
        if exclude is not None and exclude in self._rows:
            mask[self._rows[exclude]] = False
        return mask if mask.any() else None

    def _scaled(self, scores: FloatArray, slots: npt.NDArray[np.intp] | None) -> FloatArray:
        """Dot products to cosines: times each row's inverse norm, skipped when every stored vector is unit."""
        if self._all_unit is None:
            live = self._inv_norms[: self._used][self._alive[: self._used]]
            self._all_unit = bool(np.all(np.abs(live - 1.0) <= _UNIT_TOLERANCE))
        if self._all_unit:
            return scores
        scaled: FloatArray = scores * (self._inv_norms[: self._used] if slots is None else self._inv_norms[slots])
        return scaled

    def _hits(self, scores: FloatArray, slots: npt.NDArray[np.intp], top: npt.NDArray[np.intp]) -> list[VectorHit]:
        hits = [
            VectorHit(video_id=self._ids[slot], score=float(np.clip(score, -1.0, 1.0)))
            for score, slot in zip(scores[top].tolist(), slots[top].tolist(), strict=True)
        ]
        hits.sort(key=lambda hit: (-hit.score, hit.video_id))  # equal scores: a stable order by id
        return hits

    # --- slot bookkeeping -----------------------------------------------------------------------------
    def _reset_slots(self, capacity: int) -> None:
        self._alive: BoolArray = np.zeros(capacity, dtype=bool)
        self._inv_norms = np.zeros(capacity, dtype=np.float32)
        self._status_of = np.full(capacity, -1, dtype=np.int32)
        self._mob_of = np.full(capacity, -1, dtype=np.int32)
        self._ids: list[str] = []  # slot -> video id ("" for never-used slots)
        self._rows: dict[str, int] = {}
        self._used = 0
        self._status_codes: dict[str, int] = {}
        self._mob_codes: dict[str, int] = {}
        self._all_unit = None

    def _place(self, rows: Sequence[tuple[str, int, str, str | None]]) -> None:
        """Record ``(video_id, slot, status, mob_id)`` rows in memory (after SQLite committed them)."""
        if not rows:
            return
        moved = [old for vid, slot, _, _ in rows if (old := self._rows.get(vid)) is not None and old != slot]
        self._alive[moved] = False  # a replaced vector's slot becomes a tombstone
        slots = np.fromiter((row[1] for row in rows), dtype=np.intp, count=len(rows))
        top = int(slots.max()) + 1
        if top > self._used:
            self._ids.extend([""] * (top - self._used))
            self._used = top
        for vid, slot, _, _ in rows:
            self._ids[slot] = vid
            self._rows[vid] = slot
        self._alive[slots] = True
        statuses, mobs = self._status_codes, self._mob_codes
        self._status_of[slots] = [statuses.setdefault(status, len(statuses)) for _, _, status, _ in rows]
        self._mob_of[slots] = [-1 if mob is None else mobs.setdefault(mob, len(mobs)) for _, _, _, mob in rows]

    def _refresh_norms(self) -> None:
        """Inverse norms of every live slot, from one pass over the used rows (a view, not a gather)."""
        used = self._used
        if used:
            with np.errstate(divide="ignore"):  # rows never written are zero; they are not alive
                inverse = _inverse_norms(self._matrix[:used])
            self._inv_norms[:used] = np.where(self._alive[:used], inverse, 0.0)
        self._all_unit = None  # recomputed by the next search

    # --- files ----------------------------------------------------------------------------------------
    def _open(self) -> None:
        with self._db.write() as conn:
            meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
            if not meta:
                meta = {"dimension": str(self._dimension), "generation": "0"}
                conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", list(meta.items()))
        if int(meta["dimension"]) != self._dimension:
            raise ConfigurationError(
                f"the vector index in {self.directory} holds {meta['dimension']}-dimensional vectors, but "
                f"{self._dimension} were asked for; use another data directory or delete {self.directory}"
            )
        self._generation = int(meta["generation"])
        path = self._file(self._generation)
        with self._db.read() as conn:
            rows = conn.execute("SELECT video_id, slot, status, mob_id FROM vectors ORDER BY slot").fetchall()
        damaged = f"restore it from a backup, or delete {self.directory} and re-process the videos"
        try:
            if not path.exists() and not rows:  # a fresh index (or one emptied before its first vector)
                _new_matrix(path, self._initial_capacity, self._dimension).flush()
            self._matrix = np.load(path, mmap_mode="r+")
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"the vector file {path} cannot be opened ({exc}); {damaged}") from exc
        if self._matrix.ndim != 2 or self._matrix.shape[1] != self._dimension or self._matrix.dtype != np.float32:
            raise ConfigurationError(f"{path} is not a float32 matrix of dimension {self._dimension}; {damaged}")
        if rows and rows[-1][1] >= self._matrix.shape[0]:
            raise ConfigurationError(f"{path} is shorter than the index says; {damaged}")
        self._reset_slots(self._matrix.shape[0])
        self._place(rows)
        self._refresh_norms()
        for stale in self.directory.glob("vectors-*.npy"):
            if stale != path:  # left by an interrupted rewrite
                stale.unlink(missing_ok=True)

    def _file(self, generation: int) -> Path:
        return self.directory / f"vectors-{generation}.npy"

    def _checked(self, items: list[IndexedVector]) -> FloatArray:
        """The items' vectors as one ``(len(items), dimension)`` float32 matrix; InvalidInputError naming
        the first bad one (wrong size, not finite, zero)."""
        rows: list[Vector] = []
        for item in items:
            vector = item.vector
            if not (
                isinstance(vector, np.ndarray) and vector.dtype == np.float32 and vector.shape == (self._dimension,)
            ):
                vector = as_vector(vector, dimension=self._dimension, field="embedding")  # names what is wrong
            rows.append(vector)
        matrix: FloatArray = np.stack(rows) if rows else np.empty((0, self._dimension), dtype=np.float32)
        finite: BoolArray = np.asarray(np.isfinite(matrix).all(axis=1), dtype=bool)
        nonzero: BoolArray = np.asarray((matrix != 0).any(axis=1), dtype=bool)
        for i in np.flatnonzero(~(finite & nonzero))[:1]:
            problem = "contains NaN or infinite values" if not finite[i] else "is a zero vector"
            raise InvalidInputError(f"embedding of video {items[i].video_id} {problem}", field="embedding")
        return matrix

    def _ensure_capacity(self, needed: int) -> None:
        capacity = self._matrix.shape[0]
        if needed > capacity:
            while capacity < needed:
                capacity *= 2
            self._rewrite(capacity, list(range(self._used)), compacting=False)

    def _maybe_compact(self) -> None:
        dead = self._used - len(self._rows)
        if dead >= self._compact_min and dead * 4 >= self._used:
            self.compact()

    def _rewrite(self, capacity: int, old_slots: list[int], *, compacting: bool) -> None:
        """Copy ``old_slots`` to rows 0.. of the next generation's file. Compacting renumbers the videos'
        slots to match; growing keeps them (``old_slots`` is then ``0..used-1``)."""
        generation = self._generation + 1
        path = self._file(generation)
        matrix = _new_matrix(path, capacity, self._dimension)
        if old_slots:
            matrix[: len(old_slots)] = self._matrix[np.asarray(old_slots, dtype=np.int64)]
        matrix.flush()
        placed = [(self._ids[slot], new, slot) for new, slot in enumerate(old_slots) if self._alive[slot]]
        with self._db.write() as conn:
            if compacting:  # ascending old slots, so a new slot number is never still taken
                conn.executemany("UPDATE vectors SET slot = ? WHERE video_id = ?", [(n, v) for v, n, _ in placed])
            conn.execute("UPDATE meta SET value = ? WHERE name = 'generation'", (str(generation),))
        old_path, old_matrix = self._file(self._generation), self._matrix
        statuses = {code: name for name, code in self._status_codes.items()}
        mobs = {code: name for name, code in self._mob_codes.items()}
        meta = [(vid, statuses[int(self._status_of[s])], mobs.get(int(self._mob_of[s]))) for vid, _, s in placed]
        self._matrix, self._generation = matrix, generation
        used = self._used
        self._reset_slots(capacity)
        self._place(
            [(vid, new, status, mob_id) for (vid, new, _), (_, status, mob_id) in zip(placed, meta, strict=True)]
        )
        self._refresh_norms()
        if not compacting:  # growth keeps tombstones where they were
            self._used = max(self._used, used)
            self._ids.extend([""] * (self._used - len(self._ids)))
        del old_matrix
        with contextlib.suppress(FileNotFoundError):
            os.unlink(old_path)


def _inverse_norms(rows: FloatArray) -> FloatArray:
    """1 / the L2 norm of each row (einsum: one pass, no squared temporary)."""
    inverse: FloatArray = (1.0 / np.sqrt(np.einsum("ij,ij->i", rows, rows, dtype=np.float64))).astype(np.float32)
    return inverse


def _new_matrix(path: Path, capacity: int, dimension: int) -> np.memmap[tuple[int, int], np.dtype[np.float32]]:
    """A zero-filled ``.npy`` file of that shape, memory-mapped for writing."""
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(capacity, dimension))


def _acquire_folder_lock(path: Path) -> IO[bytes]:
    handle = open(path, "ab")  # noqa: SIM115 - held open for the index's lifetime, closed in close()
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise ConfigurationError(
            f"the vector index in {path.parent} is in use by another milkmobs process (or another open "
            "index object); stop it or use another data directory"
        ) from exc
    return handle
