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
From ``prune_min_rows`` slots on, a search without a mob filter skips the mobs that provably cannot
reach its top k (``vector_bounds``): same hits, same order, as the full scan.

Several processes may open the folder at once (``milkmobs serve`` runs several): each maps the
matrix and mirrors the rows in memory. A write holds the folder's exclusive ``flock`` for its
duration, first catching up with what other processes committed, and bumps ``version`` in ``meta``
in its transaction; every read compares that number with the one it last loaded and reloads the
rows (and remaps the file when the generation moved) when it changed. Slots are never handed out
twice (``used`` in ``meta``) until a compaction writes a new file, so the rows a reader maps never
change under it. Threads of one process share an instance through a lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.sqlite_db import Migration, SQLiteDatabase
from milkmobs.adapters.local.vector_bounds import MobBounds
from milkmobs.adapters.local.vector_slots import SlotTable, top_k_by_score_then_slot, top_k_per_row
from milkmobs.domain import BackendUnavailableError, ConfigurationError, InvalidInputError, Vector, VideoStatus
from milkmobs.ports import IndexedVector, VectorHit
from milkmobs.ports.vector_index import checked_vectors, unit_queries, unit_query

INDEX_DATABASE = "index.sqlite3"  # in the index's folder: slots, filters, meta
_QUERY_BLOCK = 128  # queries per matrix product in search_many: bounds the (block, n) score matrix
_DIFFUSE_PAUSE = 4096  # searches on the full scan before mob bounds judged diffuse are built again


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

    def __init__(
        self,
        directory: Path,
        dimension: int,
        *,
        initial_capacity: int = 1024,
        compact_min_tombstones: int = 1024,
        prune_min_rows: int = 4096,
    ) -> None:
        if dimension < 1:
            raise InvalidInputError(f"dimension must be positive, got {dimension}", field="dimension")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._dimension = dimension
        self._initial_capacity = max(1, initial_capacity)
        self._compact_min = max(1, compact_min_tombstones)
        self._prune_min = max(1, prune_min_rows)  # below this many slots a full scan is cheap enough
        self._bounds: MobBounds | None = None  # built on the first search that can skip mobs
        self._searches = 0
        self._bounds_paused_until = 0  # searches: diffuse mobs were found, the full scan is cheaper
        self._lock = threading.RLock()
        self._closed = False
        self._write_depth = 0  # nested writes (a write that compacts) take the folder lock once
        self._version = -1  # the committed version the in-memory rows mirror
        self._generation = -1
        self._matrix: Any = None  # the generation's file as an np.memmap, mapped by _sync
        self._slots = SlotTable(0)
        self._lock_file: IO[bytes] = open(self.directory / "index.lock", "ab")  # noqa: SIM115 - closed in close()
        try:
            self._db = SQLiteDatabase(self.directory / INDEX_DATABASE, migrations=INDEX_MIGRATIONS)
        except BaseException:
            self._lock_file.close()
            raise
        try:
            with self._folder_locked():
                self._open()
        except BaseException:
            self._db.close()
            self._lock_file.close()
            raise

    # --- VectorIndex -------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        return self._dimension

    def version(self) -> int:
        """The committed version of the index: changes with every write, whichever process made it."""
        if self._closed:  # no lock: a page-cache check must not wait behind a search
            raise BackendUnavailableError(f"the vector index in {self.directory} is closed")
        with self._db.read() as conn:
            return _meta_int(conn.execute("SELECT value FROM meta WHERE name = 'version'").fetchone())

    def upsert(self, item: IndexedVector) -> None:
        self.upsert_many([item])

    def upsert_many(self, items: Sequence[IndexedVector]) -> None:
        latest = {item.video_id: item for item in items}  # a repeated id: the last one wins
        if not latest:
            return
        vectors = checked_vectors(
            list(latest.values()), self._dimension
        )  # refuse the whole batch before writing anything
        with self._using(write=True), self._io("write vectors"):
            # A new or changed vector goes to a fresh slot; an unchanged one (a status or mob update) stays.
            fresh = [
                i
                for i, vid in enumerate(latest)
                if vid not in self._slots.rows or not np.array_equal(self._matrix[self._slots.rows[vid]], vectors[i])
            ]
            if not fresh:  # nothing new to store: write only the rows whose status or mob changed
                current = {row[0]: row for row in self._slots.describe([self._slots.rows[vid] for vid in latest])}
                latest = {vid: item for vid, item in latest.items() if current[vid][2:] != (item.status, item.mob_id)}
                if not latest:
                    return  # an upsert that changes nothing writes nothing (no new version for readers)
            self._ensure_capacity(self._slots.used + len(fresh))
            first = self._slots.used
            slots = {vid: self._slots.rows.get(vid, -1) for vid in latest}
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
                self._bump(conn, used=first + len(fresh))
            self._version += 1
            self._slots.place(rows)
            if fresh:
                self._slots.set_norms(first, vectors[fresh])
            self._maybe_compact()

    def delete(self, video_id: str) -> bool:
        with self._using(), self._io("delete a vector"):
            if video_id not in self._slots.rows:
                return False  # nothing to do, even for a read-only index (a failed video's clean-up)
        with self._using(write=True), self._io("delete a vector"):
            if video_id not in self._slots.rows:  # deleted by another thread meanwhile
                return False
            with self._db.write() as conn:
                conn.execute("DELETE FROM vectors WHERE video_id = ?", (video_id,))
                self._bump(conn, used=self._slots.used)
            self._version += 1
            self._slots.remove(video_id)
            self._maybe_compact()
            return True

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
        with self._using():
            table = self._slots
            mask = table.mask(mob_id, status, exclude_video_id)
            if mask is None:
                return []
            n = table.used
            allowed = int(np.count_nonzero(mask))
            # A mob filter or a selective one already scores few rows; otherwise skip whole mobs if there are.
            if mob_id is None and n >= self._prune_min and allowed * 4 >= n:
                bounds = self._mob_bounds()
                if bounds is not None:
                    found, slots = bounds.candidates(query, k, mask, table, self._matrix)
                    return table.hits(found, slots, top_k_by_score_then_slot(found, slots, k))
            if allowed == n:
                candidates: npt.NDArray[np.intp] = np.arange(n)
                scores = table.scaled(self._matrix[:n] @ query, None)
            elif allowed * 4 < n:  # selective filter: gather the few rows, score only them
                candidates = np.flatnonzero(mask)
                scores = table.scaled(self._matrix[candidates] @ query, candidates)
            else:
                candidates = np.flatnonzero(mask)
                scores = table.scaled(self._matrix[:n] @ query, None)[candidates]
            return table.hits(scores, candidates, top_k_per_row(scores[np.newaxis, :], k)[0])

    def search_many(
        self, vectors: npt.ArrayLike, *, k: int, mob_id: str | None = None, status: VideoStatus | None = None
    ) -> list[list[VectorHit]]:
        """``search`` for each row of ``vectors`` (shape ``(q, dimension)``), as blocked matrix products."""
        queries = unit_queries(vectors, k=k, dimension=self._dimension)
        with self._using():
            table = self._slots
            mask = table.mask(mob_id, status, None)
            if mask is None:
                return [[] for _ in range(queries.shape[0])]
            everything = bool(mask.all())
            candidates = np.arange(table.used) if everything else np.flatnonzero(mask)
            rows = self._matrix[: table.used] if everything else self._matrix[candidates]
            results: list[list[VectorHit]] = []
            for start in range(0, queries.shape[0], _QUERY_BLOCK):
                block = table.scaled(queries[start : start + _QUERY_BLOCK] @ rows.T, None if everything else candidates)
                for row_scores, top in zip(block, top_k_per_row(block, k), strict=True):
                    results.append(table.hits(row_scores, candidates, top))
            return results

    def get_vector(self, video_id: str) -> Vector | None:
        with self._using():
            slot = self._slots.rows.get(video_id)
            return None if slot is None else np.array(self._matrix[slot], dtype=np.float32)

    def count(self) -> int:
        with self._using():
            return len(self._slots.rows)

    def video_ids(self) -> set[str]:
        with self._using():
            return set(self._slots.rows)

    def warm(self) -> None:
        """Load the committed rows and build the mob bounds now if searches would use them, so the first
        search does not pay for them (tens of milliseconds at 10,000 rows): ``milkmobs serve`` calls it
        before a worker says it is ready."""
        with self._using():
            if self._bounds is None and self._slots.used >= self._prune_min:
                self._bounds = MobBounds(self._slots, self._matrix, self._generation)

    # --- maintenance -----------------------------------------------------------------------------
    def compact(self) -> None:
        """Rewrite the live vectors densely into the next generation's file (drops tombstones)."""
        with self._using(write=True), self._io("compact"):
            live = sorted(self._slots.rows.values())
            self._rewrite(max(self._initial_capacity, 2 * len(live)), live, compacting=True)

    def tombstones(self) -> int:
        """Slots holding a deleted or replaced vector (reclaimed by :meth:`compact`)."""
        with self._using():
            return self._slots.tombstones

    def close(self) -> None:
        """Flush, close the database and the lock file (a second close does nothing)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._matrix is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._matrix.flush()
            self._db.close()
            self._lock_file.close()

    @contextlib.contextmanager
    def _using(self, *, write: bool = False) -> Iterator[None]:
        """The index's lock, once it is known to be open, with the rows other processes committed
        loaded; ``write``: also the folder's lock, held until the block ends."""
        with self._lock:
            if self._closed:
                raise BackendUnavailableError(f"the vector index in {self.directory} is closed")
            if not write:
                if self._write_depth == 0:
                    self._sync()
                yield
                return
            with self._folder_locked():
                if self._write_depth == 1:
                    self._sync()
                yield

    @contextlib.contextmanager
    def _folder_locked(self) -> Iterator[None]:
        """The folder's exclusive ``flock`` (re-entrant within this instance): one writer at a time
        across processes."""
        if self._write_depth == 0:
            try:
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)
            except OSError as exc:
                raise BackendUnavailableError(f"cannot lock the vector index in {self.directory}: {exc}") from exc
        self._write_depth += 1
        try:
            yield
        finally:
            self._write_depth -= 1
            if self._write_depth == 0:
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _bump(conn: sqlite3.Connection, *, used: int) -> None:
        """In a write transaction: one more version, and how many slots have been handed out."""
        conn.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE name = 'version'")
        conn.execute(
            "UPDATE meta SET value = CAST(MAX(CAST(value AS INTEGER), ?) AS TEXT) WHERE name = 'used'", (used,)
        )

    @contextlib.contextmanager
    def _io(self, what: str) -> Iterator[None]:
        """File-system failures (disk full, a vanished file) as BackendUnavailableError naming the index.
        Nothing half-done is visible: slots only change when the SQLite transaction commits."""
        try:
            yield
        except OSError as exc:
            raise BackendUnavailableError(f"the vector index in {self.directory} could not {what}: {exc}") from exc

    # --- search helpers ----------------------------------------------------------------------------
    def _mob_bounds(self) -> MobBounds | None:
        """The mob bounds of the rows as they are now: followed from the last build while the generation
        holds (a compaction or growth renumbers or moves rows: built anew), None with fewer than 2 mobs
        or while diffuse mobs keep the search on the full scan."""
        self._searches += 1
        if self._searches < self._bounds_paused_until:
            return None
        bounds = self._bounds
        if bounds is None or bounds.generation != self._generation or not bounds.refresh(self._slots):
            bounds = self._bounds = MobBounds(self._slots, self._matrix, self._generation)
        if bounds.diffuse():  # drop the copy too: it would only take memory and CPU cache from the scan
            self._bounds = None
            self._bounds_paused_until = self._searches + _DIFFUSE_PAUSE
            return None
        return bounds if bounds.mobs >= 2 else None

    # --- files ----------------------------------------------------------------------------------------
    def _open(self) -> None:
        """Under the folder lock: create or check ``meta``, create a fresh file, drop leftovers, load."""
        with self._db.write() as conn:
            meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
            if not meta:
                meta = {"dimension": str(self._dimension), "generation": "0"}
                conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", list(meta.items()))
            if "version" not in meta:  # folders written before several processes could share them
                top = conn.execute("SELECT COALESCE(MAX(slot) + 1, 0) FROM vectors").fetchone()[0]
                conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", [("version", "0"), ("used", str(top))])
            has_rows = conn.execute("SELECT 1 FROM vectors LIMIT 1").fetchone() is not None
        if int(meta["dimension"]) != self._dimension:
            raise ConfigurationError(
                f"the vector index in {self.directory} holds {meta['dimension']}-dimensional vectors, but "
                f"{self._dimension} were asked for; use another data directory or delete {self.directory}"
            )
        path = self._file(int(meta["generation"]))
        if not path.exists() and not has_rows:  # a fresh index (or one emptied before its first vector)
            try:
                _new_matrix(path, self._initial_capacity, self._dimension).flush()
            except OSError as exc:
                raise ConfigurationError(f"the vector file {path} cannot be created ({exc})") from exc
        for stale in self.directory.glob("vectors-*.npy"):
            if stale != path:  # left by an interrupted rewrite (no other writer runs: we hold the lock)
                stale.unlink(missing_ok=True)
        self._sync()

    def _sync(self, attempts: int = 5) -> None:
        """Load the committed rows if another process (or instance) changed them since the last load:
        meta and rows from one read transaction, then that generation's file (remapped only when the
        generation moved). A compaction in between removes the file; then read again."""
        with self._db.read() as conn:
            if _meta_int(conn.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()) == self._version:
                return
        damaged = f"delete {self.directory}: the local backend rebuilds it from the stored embeddings"
        missing: Path | None = None
        for _ in range(attempts):
            with self._db.read() as conn:
                conn.execute("BEGIN")  # one snapshot for both reads (WAL)
                try:
                    meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
                    rows = conn.execute("SELECT video_id, slot, status, mob_id FROM vectors ORDER BY slot").fetchall()
                finally:
                    conn.execute("COMMIT")
            generation = int(meta["generation"])
            matrix = self._matrix if generation == self._generation else None
            if matrix is None:
                path = self._file(generation)
                try:
                    matrix = np.load(path, mmap_mode="r+")
                except FileNotFoundError:
                    missing = path  # compacted meanwhile (read again), or lost
                    continue
                except (OSError, ValueError) as exc:
                    raise ConfigurationError(f"the vector file {path} cannot be opened ({exc}); {damaged}") from exc
                if matrix.ndim != 2 or matrix.shape[1] != self._dimension or matrix.dtype != np.float32:
                    raise ConfigurationError(
                        f"{path} is not a float32 matrix of dimension {self._dimension}; {damaged}"
                    )
            if rows and rows[-1][1] >= matrix.shape[0]:
                raise ConfigurationError(f"{self._file(generation)} is shorter than the index says; {damaged}")
            slots = SlotTable(matrix.shape[0])
            slots.place(rows)
            slots.extend_to(min(int(meta.get("used", "0")), matrix.shape[0]))
            slots.refresh_norms(matrix)
            self._matrix, self._generation, self._slots = matrix, generation, slots
            self._version = int(meta.get("version", "0"))
            return
        if missing is not None and not missing.exists() and self._file(self._generation) != missing:
            raise ConfigurationError(f"the vector file {missing} is missing; {damaged}")
        raise BackendUnavailableError(f"the vector index in {self.directory} kept changing while being read")

    def _file(self, generation: int) -> Path:
        return self.directory / f"vectors-{generation}.npy"

    def _ensure_capacity(self, needed: int) -> None:
        capacity = self._matrix.shape[0]
        if needed > capacity:
            while capacity < needed:
                capacity *= 2
            self._rewrite(capacity, list(range(self._slots.used)), compacting=False)

    def _maybe_compact(self) -> None:
        dead = self._slots.tombstones
        if dead >= self._compact_min and dead * 4 >= self._slots.used:
            self.compact()

    def _rewrite(self, capacity: int, old_slots: list[int], *, compacting: bool) -> None:
        """Copy ``old_slots`` to rows 0.. of the next generation's file. Compacting renumbers the videos'
        slots to match; growing keeps them (``old_slots`` is then ``0..used-1``)."""
        generation = self._generation + 1
        path = self._file(generation)
        matrix = _new_matrix(path, capacity, self._dimension)
        if compacting:
            matrix[: len(old_slots)] = self._matrix[np.asarray(old_slots, dtype=np.intp)]
        else:  # growth: the same rows in the same places, copied as one block
            matrix[: len(old_slots)] = self._matrix[: len(old_slots)]
        matrix.flush()
        old = self._slots
        live = [(new, slot) for new, slot in enumerate(old_slots) if old.alive[slot]]
        placed = list(zip((new for new, _ in live), old.describe([slot for _, slot in live]), strict=True))
        used = len(old_slots) if compacting else old.used
        with self._db.write() as conn:
            if compacting:  # ascending old slots, so a new slot number is never still taken
                conn.executemany("UPDATE vectors SET slot = ? WHERE video_id = ?", [(n, row[0]) for n, row in placed])
                conn.execute("UPDATE meta SET value = ? WHERE name = 'used'", (str(used),))
            conn.execute("UPDATE meta SET value = ? WHERE name = 'generation'", (str(generation),))
            self._bump(conn, used=used)
        self._version += 1
        old_path, old_matrix = self._file(self._generation), self._matrix
        self._matrix, self._generation = matrix, generation
        self._slots = SlotTable(capacity)
        self._slots.place([(vid, new if compacting else slot, status, mob) for new, (vid, slot, status, mob) in placed])
        if not compacting:  # growth keeps every slot number, tombstones included
            self._slots.extend_to(old.used)
        self._slots.refresh_norms(self._matrix)
        del old_matrix
        with contextlib.suppress(FileNotFoundError):
            os.unlink(old_path)


def _new_matrix(path: Path, capacity: int, dimension: int) -> np.memmap[tuple[int, int], np.dtype[np.float32]]:
    """A zero-filled ``.npy`` file of that shape, memory-mapped for writing."""
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(capacity, dimension))


def _meta_int(row: tuple[str] | None) -> int:
    return int(row[0]) if row is not None else 0
