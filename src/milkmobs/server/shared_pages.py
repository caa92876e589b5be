"""The page cache's second level: answers shared by every HTTP worker of one ``milkmobs serve``.

Each worker keeps its own LRU (``page_cache.py``); a page one worker computed is found here by the
others, so a page is computed about once per data version instead of once per worker (the kernel
spreads connections, so every worker sees every hot page). One SQLite file in a folder the
supervisor makes for the run and removes at its end; WAL and no fsync (losing it loses nothing).

It is a cache: a page that cannot be read or written here (the file busy past a few milliseconds,
the disk full) is computed or simply not shared, and said once in the log; it never fails a request.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("milkmobs.server")

FILE_NAME = "pages.sqlite3"
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
        """Share a page; every few hundred writes, pages of other versions (and the oldest beyond the
        bound) are removed."""
        try:
            conn = self._connection()
            with conn:
                conn.execute(
                    "INSERT OR REPLACE INTO pages (key, version, made_at, headers, body) VALUES (?, ?, ?, ?, ?)",
                    (key, version, made_at, json.dumps(headers), body),
                )
                self._writes += 1
                if self._writes % 256 == 0:
                    conn.execute("DELETE FROM pages WHERE version != ?", (version,))
                    conn.execute(
                        "DELETE FROM pages WHERE key IN"
                        " (SELECT key FROM pages ORDER BY made_at DESC LIMIT -1 OFFSET ?)",
                        (self._max_entries,),
                    )
        except sqlite3.Error as exc:
            self._warn("write", exc)

    def close(self) -> None:
        """Close every thread's connection (the server's threads have stopped)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_ms / 1000, isolation_level=None)
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def _warn(self, doing: str, exc: sqlite3.Error) -> None:
        if not self._warned:  # once: a busy or full cache file must not flood the log
            self._warned = True
            logger.warning(
                "the shared page cache %s could not %s a page (%s); pages are computed instead", self.path, doing, exc
            )
