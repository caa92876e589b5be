"""The page cache's second level: answers shared by every HTTP worker of one ``milkmobs serve``.

Each worker keeps its own LRU (``page_cache.py``); a page one worker computed is found here by the
others, so a page is computed about once per data version instead of once per worker (the kernel
spreads connections, so every worker sees every hot page). One SQLite file in a folder the
supervisor makes for the run and removes at its end; WAL and no fsync (losing it loses nothing).

Pages are written by one background thread per worker, in batches: an answer never waits for the
write (nor for the WAL checkpoint a write may run, nor for the other worker's write).

It is a cache: a page that cannot be read or written here (the file busy past a few milliseconds,
the disk full, too many waiting to be written) is computed or simply not shared, and said once in
the log; it never fails a request.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("milkmobs.server")

FILE_NAME = "pages.sqlite3"
_MAX_PENDING = 256  # pages waiting for the writer; past that a page is not shared
_TRIM_EVERY = 256  # pages written between two removals of old pages
_Page = tuple[str, str, float, str, bytes]  # key, version, made_at, headers (JSON), body
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pages (key TEXT PRIMARY KEY, version TEXT NOT NULL, made_at REAL NOT NULL,"
    " headers TEXT NOT NULL, body BLOB NOT NULL)"
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
    ) -> None:
        self.path = Path(folder) / FILE_NAME
        self._max_entries = max_entries
        self._busy_ms = busy_ms
        self._clock = clock
        self._local = threading.local()  # one connection per waitress thread
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._writes = 0
        self._warned = False
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
        self._pending: queue.Queue[_Page | None] = queue.Queue(maxsize=_MAX_PENDING)
        self._writer: threading.Thread | None = None
        if background:
            self._writer = threading.Thread(target=self._write_pending, name="milkmobs-shared-pages", daemon=True)
            self._writer.start()

    def get(self, key: str, version: str, max_age: float) -> SharedPage | None:
        """The page stored under ``key`` at ``version``, if younger than ``max_age`` seconds."""
        try:
            row = (
                self._connection()
                .execute("SELECT made_at, headers, body FROM pages WHERE key = ? AND version = ?", (key, version))
                .fetchone()
            )
        except sqlite3.Error as exc:
            self._warn("read", exc)
            return None
        if row is None or self._clock() - float(row[0]) > max_age:
            return None
        return SharedPage(float(row[0]), [(str(k), str(v)) for k, v in json.loads(row[1])], bytes(row[2]))

    def put(self, key: str, version: str, made_at: float, headers: list[tuple[str, str]], body: bytes) -> None:
        """Share a page (written by the background thread, or now without one)."""
        page = (key, version, made_at, json.dumps(headers), body)
        if self._writer is None:
            self._write([page])
            return
        try:
            self._pending.put_nowait(page)
        except queue.Full:  # the writer is behind: this page is not shared, the next ones will be
            self._warn("queue", None)

    def flush(self) -> None:
        """Wait until the pages put so far are written."""
        self._pending.join()

    def close(self) -> None:
        """Write what is pending, stop the writer, close every thread's connection (the server's
        threads have stopped)."""
        if self._writer is not None:
            self._pending.put(None)
            self._writer.join(timeout=10)
            self._writer = None
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    def _write_pending(self) -> None:
        # Off the request path, so this one may wait for the other workers' writes.
        self._connection().execute("PRAGMA busy_timeout = 1000")
        while True:
            batch = [self._pending.get()]
            while len(batch) < _MAX_PENDING:  # whatever else is waiting goes in the same transaction
                try:
                    batch.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            pages = [page for page in batch if page is not None]
            try:
                if pages:
                    self._write(pages)
            finally:
                for _ in batch:
                    self._pending.task_done()
            if len(pages) < len(batch):  # close() asked to stop
                return

    def _write(self, pages: list[_Page]) -> None:
        """One transaction; every few hundred pages, pages of other versions than the newest written
        (and the oldest beyond the bound) are removed."""
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO pages (key, version, made_at, headers, body) VALUES (?, ?, ?, ?, ?)",
                    pages,
                )
                before, self._writes = self._writes, self._writes + len(pages)
                if before // _TRIM_EVERY != self._writes // _TRIM_EVERY:
                    conn.execute("DELETE FROM pages WHERE version != ?", (pages[-1][1],))
                    conn.execute(
                        "DELETE FROM pages WHERE key IN"
                        " (SELECT key FROM pages ORDER BY made_at DESC LIMIT -1 OFFSET ?)",
                        (self._max_entries,),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._warn("write", exc)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_ms / 1000, isolation_level=None, check_same_thread=False
            )  # each thread uses its own; close() closes them all
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def _warn(self, doing: str, exc: sqlite3.Error | None) -> None:
        if self._warned:  # once: a busy or full cache file must not flood the log
            return
        self._warned = True
        if exc is None:
            logger.warning("the shared page cache %s is behind: some pages are not shared", self.path)
        else:
            logger.warning(
                "the shared page cache %s could not %s a page (%s); pages are computed instead", self.path, doing, exc
            )
