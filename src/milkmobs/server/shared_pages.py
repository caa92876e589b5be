"""The page cache's second level: answers shared by every HTTP worker of one ``milkmobs serve``.

Each worker keeps its own LRU (``page_cache.py``); a page one worker computed is found here by the
others, so a page is computed about once per data version instead of once per worker (the kernel
spreads connections, so every worker sees every hot page). One SQLite file in a folder the
supervisor makes for the run and removes at its end; WAL and no fsync (losing it loses nothing).

Pages are written by one background thread per worker, in batches every ``write_every`` seconds: an
answer never waits for the write (nor for the WAL checkpoint a write may run, nor for the other
worker's write), nor wakes that thread (each wake-up handed the interpreter lock over twice, about a
tenth of a worker's time when most pages were new).

It is a cache: a page that cannot be read or written here (the file busy past a few milliseconds,
the disk full, too many waiting to be written) is computed or simply not shared, and said once in
the log; it never fails a request.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from milkmobs.adapters.local.sqlite_db import Migration, SQLiteDatabase
from milkmobs.domain import BackendUnavailableError, ConfigurationError

logger = logging.getLogger("milkmobs.server")

FILE_NAME = "pages.sqlite3"
#: Under the data directory: one folder per running ``milkmobs serve`` (``run-<supervisor pid>``).
RUNS_FOLDER = "serve-pages"
_RUN_LOCK = "lock"  # flock'ed while any process of the run lives
_MAX_PENDING = 1024  # pages waiting for the writer; past that a page is not shared
_TRIM_EVERY = 256  # pages written between two removals of old pages
_Page = tuple[str, str, float, str, bytes]  # key, version, made_at, headers (JSON), body
PAGES_MIGRATIONS = (
    Migration(
        1,
        (
            "CREATE TABLE pages (key TEXT PRIMARY KEY, version TEXT NOT NULL, made_at REAL NOT NULL,"
            " headers TEXT NOT NULL, body BLOB NOT NULL)",
        ),
    ),
)


@dataclass(frozen=True)
class SharedPage:
    made_at: float  # time.time() of the computation (wall clock: compared across processes)
    headers: list[tuple[str, str]]
    body: bytes


class SharedPages:
    """Pages by key, each valid for one data version (a string); at most ``max_entries`` kept."""

    def __init__(
        self,
        folder: Path,
        *,
        max_entries: int = 20_000,
        busy_ms: int = 20,
        clock: Callable[[], float] = time.time,
        background: bool = True,
        write_every: float = 0.02,
    ) -> None:
        self.path = Path(folder) / FILE_NAME
        self._max_entries = max_entries
        self._clock = clock
        # One connection per thread, WAL, as for the stores; no fsync (losing the file loses nothing), and
        # a request waits at most ``busy_ms`` for another worker's write before computing its page.
        self._db = SQLiteDatabase(
            self.path,
            migrations=PAGES_MIGRATIONS,
            busy_timeout_ms=busy_ms,
            pragmas=("PRAGMA synchronous = OFF",),
        )
        self._writes = 0
        self._warned = False
        self._pending: list[_Page] = []  # appended by requests, taken whole by the writer
        self._pending_lock = threading.Lock()
        self._written = threading.Condition()  # flush() waits on it for the writer's next round
        self._rounds = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        if background:
            self._writer = threading.Thread(
                target=self._write_pending, args=(write_every,), name="milkmobs-shared-pages", daemon=True
            )
            self._writer.start()

    def get(self, key: str, version: str, max_age: float) -> SharedPage | None:
        """The page stored under ``key`` at ``version``, if younger than ``max_age`` seconds."""
        try:
            with self._db.read() as conn:
                row = conn.execute(
                    "SELECT made_at, headers, body FROM pages WHERE key = ? AND version = ?", (key, version)
                ).fetchone()
        except BackendUnavailableError as exc:
            self._warn("read", exc)
            return None
        if row is None or self._clock() - float(row[0]) > max_age:
            return None
        return SharedPage(float(row[0]), [(str(k), str(v)) for k, v in json.loads(row[1])], bytes(row[2]))

    def put(self, key: str, version: str, made_at: float, headers: list[tuple[str, str]], body: bytes) -> None:
        """Share a page (written by the background thread's next round, or now without one)."""
        page = (key, version, made_at, json.dumps(headers), body)
        if self._writer is None:
            self._write([page])
            return
        with self._pending_lock:
            first = not self._pending
            if len(self._pending) < _MAX_PENDING:
                self._pending.append(page)
                if first:  # the writer sleeps while nothing is pending; later pages join this batch
                    self._wake.set()
                return
        self._warn("queue", None)  # the writer is behind: this page is not shared, the next ones will be

    def count(self) -> int:
        """How many pages the file holds (every version)."""
        with self._db.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM pages").fetchone()[0])

    def flush(self) -> None:
        """Wait until the pages put so far are written."""
        if self._writer is None:
            return
        with self._written:
            target = self._rounds + 2  # the round running now may have taken its pages before the last put
            while self._rounds < target and self._writer.is_alive():
                self._wake.set()  # a round even if nothing is pending
                self._written.wait(0.1)

    def close(self) -> None:
        """Write what is pending, stop the writer, close every thread's connection (the server's
        threads have stopped)."""
        if self._writer is not None:
            self._stop.set()
            self._wake.set()
            self._writer.join(timeout=10)
            self._writer = None
        self._db.close()

    def _write_pending(self, every: float) -> None:
        # Off the request path, so this one may wait for the other workers' writes.
        self._db.connection().execute("PRAGMA busy_timeout = 1000")
        while True:
            self._wake.wait()
            stopping = self._stop.wait(every)  # a batch: what the next ``every`` seconds add to the first page
            with self._pending_lock:
                self._wake.clear()
                pages, self._pending = self._pending, []
            if pages:
                self._write(pages)
            with self._written:
                self._rounds += 1
                self._written.notify_all()
            if stopping:
                return

    def _write(self, pages: list[_Page]) -> None:
        """One transaction; every few hundred pages, pages of other versions than the newest written
        (and the oldest beyond the bound) are removed."""
        try:
            with self._db.write() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO pages (key, version, made_at, headers, body) VALUES (?, ?, ?, ?, ?)",
                    pages,
                )
                before, writes = self._writes, self._writes + len(pages)
                if before // _TRIM_EVERY != writes // _TRIM_EVERY:
                    conn.execute("DELETE FROM pages WHERE version != ?", (pages[-1][1],))
                    conn.execute(
                        "DELETE FROM pages WHERE key IN"
                        " (SELECT key FROM pages ORDER BY made_at DESC LIMIT -1 OFFSET ?)",
                        (self._max_entries,),
                    )
            self._writes = writes
        except BackendUnavailableError as exc:
            self._warn("write", exc)

    def _warn(self, doing: str, exc: BackendUnavailableError | None) -> None:
        if self._warned:  # once: a busy or full cache file must not flood the log
            return
        self._warned = True
        if exc is None:
            logger.warning("the shared page cache %s is behind: some pages are not shared", self.path)
        else:
            logger.warning(
                "the shared page cache %s could not %s a page (%s); pages are computed instead", self.path, doing, exc
            )


class RunFolder:
    """One ``milkmobs serve`` run's folder of shared pages, ``<data dir>/serve-pages/run-<pid>``.

    Its ``lock`` file is ``flock``'ed from creation on; the run's processes inherit that open file,
    so the lock holds while any of them lives, whatever ends them. :meth:`close` removes the folder;
    a run that could not (its supervisor killed by SIGKILL) leaves it unlocked, and the next run on the
    data directory removes every unlocked one before making its own.
    """

    def __init__(self, data_dir: Path) -> None:
        root = Path(data_dir) / RUNS_FOLDER
        try:
            root.mkdir(parents=True, exist_ok=True)
            remove_abandoned_runs(root)
            # Made and locked under a name no scan considers, then renamed: never seen unlocked.
            making = Path(tempfile.mkdtemp(prefix=".making-", dir=root))
            self._lock = open(making / _RUN_LOCK, "ab")  # noqa: SIM115 - held until close()
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.path = root / f"run-{os.getpid()}"
            os.replace(making, self.path)
        except OSError as exc:
            raise ConfigurationError(f"cannot make the shared page folder in {root}: {exc}") from exc

    def close(self) -> None:
        """Remove the folder (the run's processes have stopped)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock.close()


def remove_abandoned_runs(root: Path) -> list[Path]:
    """Remove the run folders under ``root`` whose lock no process holds; returns them."""
    removed: list[Path] = []
    for folder in sorted(root.glob("run-*")):
        try:
            lock = open(folder / _RUN_LOCK, "ab")  # noqa: SIM115 - closed below
        except OSError:
            continue  # being removed by another run starting at the same time
        with lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a run that is alive
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    for making in root.glob(".making-*"):  # a run killed between making its folder and naming it
        with contextlib.suppress(OSError):
            if time.time() - making.stat().st_mtime > 60:
                shutil.rmtree(making, ignore_errors=True)
    return removed
