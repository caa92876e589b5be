"""The data version the page cache checks on every request, read from SQLite only after a commit.

The version itself is two SQLite reads (the database's change counter and the vector index's version),
and on a cached page those two reads were half of the request: each hands the interpreter lock over.
But SQLite in WAL mode keeps, in each database's ``-shm`` file, a header that every committed write
transaction changes, in whichever process (the wal-index header: a change counter, the last frame,
the salts; two copies, https://www.sqlite.org/walformat.html). Those 96 bytes are mapped read-only
here; while they are the bytes seen just before the last SQLite read, no transaction has committed
since, and that read's version is still the version. Any difference (a commit, a torn read, a file
that cannot be mapped) reads SQLite again; so does a version older than ``recheck_seconds``.
"""

from __future__ import annotations

import mmap
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

HEADER_BYTES = 96  # the two copies of the wal-index header; what follows changes with every read


class WalHeader:
    """The wal-index header of the SQLite database ``path`` (None while it cannot be mapped)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(f"{path}-shm")
        self._map: mmap.mmap | None = None

    def read(self) -> bytes | None:
        if self._map is None:
            try:
                with open(self.path, "rb") as file:
                    self._map = mmap.mmap(file.fileno(), HEADER_BYTES, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # not created yet, or shorter than a header: ask SQLite
                return None
        return self._map[:HEADER_BYTES]

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None


class DataVersion:
    """``read_version()`` (SQLite), read again only when a header of ``databases`` changed.

    The process must keep a connection to each database open meanwhile (the HTTP worker's
    application does): SQLite only recreates the ``-shm`` file when nobody has the database open.
    """

    def __init__(
        self,
        read_version: Callable[[], Hashable],
        databases: Sequence[Path],
        *,
        recheck_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_version = read_version
        self._headers = [WalHeader(path) for path in databases]
        self._recheck = recheck_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: tuple[bytes | None, ...] | None = None
        self._version: Hashable = None
        self._read_at = 0.0

    def __call__(self) -> Hashable:
        with self._lock:
            seen = tuple(header.read() for header in self._headers)  # before SQLite: a commit after this shows
            now = self._clock()
            if seen == self._seen and None not in seen and now - self._read_at <= self._recheck:
                return self._version
        version = self._read_version()
        with self._lock:
            self._seen, self._version, self._read_at = seen, version, now
        return version

    def close(self) -> None:
        with self._lock:
            for header in self._headers:
                header.close()
