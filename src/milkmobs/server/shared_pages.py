"""The page cache's second level: answers shared by every HTTP worker of one ``milkmobs serve``.

Each worker keeps its own LRU (``page_cache.py``); a page one worker computed is found here by the
others, so a page is computed about once per data version instead of once per worker (the kernel
spreads connections, so every worker sees every hot page). The memory is anonymous and shared: the
supervisor maps it before it forks the workers, every worker (a replaced one too) inherits it, and
the kernel frees it when the last of them exits. Nothing is on disk: a file's pages cost the first
write to each of them a filesystem fault, and the kernel wrote them back (a page was put 8-15 µs in
a file of the data directory, 6 µs in memory; the benchmark's ``/videos/{id}`` served 10-13% more).

The memory is a table of slots (a key hashes to one slot; a later page of another key takes it over)
and one ring of records per worker, each record a page with its key, version, age and checksum. A
worker writes only into its own ring, so no writer waits for another: it reserves the bytes (moves
its ring's reservation mark), copies the record, then points the slot at it. A lookup takes no lock
and makes no system call (a few µs; the SQLite file this replaced cost ~50 µs per page looked up and
written, as much as computing a ``/videos/{id}`` page, so cheap pages were not shared): it copies the
record its key's slot names and takes it only if its checksum, length, key and version check out and
no write has reserved those bytes since; anything else is a miss. So a slot written by two workers at
once, or read while written, or a record read while overwritten, is never an answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import shutil
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

_MARK = struct.Struct("<Q")  # a ring's reservation mark: its bytes ever reserved (an absolute position)
_MARKS_AT = 0  # one mark per ring, a cache line apart
_MARK_STRIDE = 64
_SLOT = struct.Struct("<QII")  # a record's absolute position in its ring, its length (0: empty), its ring
_CHECKSUM = struct.Struct("<I")  # a record's first bytes: the CRC-32 of the rest
_RECORD = struct.Struct("<dIIII")  # made_at, key, version, headers and body bytes; then those four
DEFAULT_SLOTS = 65_536
DEFAULT_RING_BYTES = 64 * 1024 * 1024  # all the rings together


class SharedPage(NamedTuple):  # a tuple: made on every page found, where a frozen dataclass cost a microsecond
    made_at: float  # time.time() of the computation (wall clock: compared across processes)
    headers: list[tuple[str, str]]
    body: bytes


class SharedPages:
    """Pages by key, each valid for one data version (a string), in memory shared with the processes
    forked after it was made. ``writers``: one ring each, of ``ring_bytes / writers`` (the memory is
    only taken as pages fill it); a process writes through :meth:`writer` with its own index. A page
    over an eighth of a ring is not shared."""

    def __init__(
        self,
        writers: int = 1,
        *,
        slots: int = DEFAULT_SLOTS,
        ring_bytes: int = DEFAULT_RING_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if writers < 1 or slots < 1 or ring_bytes // writers < 1024:
            raise ValueError(f"no room for {writers} rings in {ring_bytes} bytes, or no slot ({slots})")
        self._clock = clock
        self._writers = writers
        self._slots = slots
        self._ring = ring_bytes // writers
        self._slots_at = writers * _MARK_STRIDE
        self._rings_at = self._slots_at + slots * _SLOT.size
        self._map: mmap.mmap | None = mmap.mmap(-1, self._rings_at + writers * self._ring)  # MAP_SHARED
        self._own = 0  # the ring this process writes
        self._lock = threading.Lock()  # the threads of one process write its ring in turn

    def writer(self, index: int) -> SharedPages:
        """The same memory, writing into ring ``index`` (one per worker: no two processes at once)."""
        if not 0 <= index < self._writers:
            raise ValueError(f"ring {index} of {self._writers}")
        other = object.__new__(SharedPages)
        other.__dict__.update(self.__dict__, _own=index, _lock=threading.Lock())
        return other

    def get(self, key: str, version: str, max_age: float) -> SharedPage | None:
        """The page stored under ``key`` at ``version``, if younger than ``max_age`` seconds."""
        pages = self._map
        if pages is None:
            return None
        encoded = key.encode("utf-8", "surrogatepass")
        position, length, ring = _SLOT.unpack_from(pages, self._slot_at(encoded))
        if not length or ring >= self._writers or length > self._ring or position % self._ring + length > self._ring:
            return None
        start = self._rings_at + ring * self._ring + position % self._ring
        record = pages[start : start + length]
        (reserved,) = _MARK.unpack_from(pages, _MARKS_AT + ring * _MARK_STRIDE)
        if reserved > position + self._ring or length < _CHECKSUM.size + _RECORD.size:
            return None  # a write may have reached these bytes while they were copied
        view = memoryview(record)
        if _CHECKSUM.unpack_from(view)[0] != zlib.crc32(view[_CHECKSUM.size :]):
            return None  # a slot or a record read while it was written
        made_at, key_len, version_len, headers_len, body_len = _RECORD.unpack_from(view, _CHECKSUM.size)
        at = _CHECKSUM.size + _RECORD.size
        if at + key_len + version_len + headers_len + body_len != length or view[at : at + key_len] != encoded:
            return None  # another key's page took the slot
        at += key_len
        if view[at : at + version_len] != version.encode() or not 0 <= self._clock() - made_at <= max_age:
            return None
        at += version_len
        fields = str(view[at : at + headers_len], "latin-1").split("\x00") if headers_len else []
        headers = list(zip(fields[::2], fields[1::2], strict=False))
        return SharedPage(made_at, headers, record[at + headers_len :])

    def put(self, key: str, version: str, made_at: float, headers: list[tuple[str, str]], body: bytes) -> None:
        """Share a page (a page too big for a ring, or whose headers HTTP cannot carry, is not shared)."""
        encoded, version_bytes = key.encode("utf-8", "surrogatepass"), version.encode()
        # Names and values of HTTP headers hold no NUL: "name\0value\0name\0value" (a tenth of json's cost).
        try:
            header_bytes = "\x00".join(text for header in headers for text in header).encode("latin-1")
        except UnicodeEncodeError:  # not a header HTTP can carry: the server refuses the answer anyway
            return
        fields = _RECORD.pack(made_at, len(encoded), len(version_bytes), len(header_bytes), len(body))
        rest = b"".join((fields, encoded, version_bytes, header_bytes, body))
        record = _CHECKSUM.pack(zlib.crc32(rest)) + rest
        length = len(record)
        if length > self._ring // 8:
            return
        mark_at = _MARKS_AT + self._own * _MARK_STRIDE
        with self._lock:
            pages = self._map
            if pages is None:
                return
            (position,) = _MARK.unpack_from(pages, mark_at)
            if position % self._ring + length > self._ring:  # records never wrap: on to the ring's start
                position += self._ring - position % self._ring
            _MARK.pack_into(pages, mark_at, position + length)  # before the bytes change
            start = self._rings_at + self._own * self._ring + position % self._ring
            pages[start : start + length] = record
            _SLOT.pack_into(pages, self._slot_at(encoded), position, length, self._own)

    def count(self) -> int:
        """How many pages the memory holds (every version)."""
        pages = self._map
        if pages is None:
            return 0
        marks = [_MARK.unpack_from(pages, _MARKS_AT + ring * _MARK_STRIDE)[0] for ring in range(self._writers)]
        count = 0
        for slot in range(self._slots):
            position, length, ring = _SLOT.unpack_from(pages, self._slots_at + slot * _SLOT.size)
            count += bool(length) and ring < self._writers and marks[ring] <= position + self._ring
        return count

    def close(self) -> None:
        """Stop using the memory here (the server's threads have stopped); it is unmapped once no
        object of this process holds it, and freed once no process does."""
        with self._lock:
            self._map = None

    def _slot_at(self, encoded_key: bytes) -> int:
        return self._slots_at + zlib.crc32(encoded_key) % self._slots * _SLOT.size


#: Where milkmobs serve kept its shared pages in files before they moved to memory:
#: ``<data dir>/serve-pages/run-<pid>/`` with a ``lock`` file flock'ed while the run lived.
FORMER_PAGES_FOLDER = "serve-pages"


def remove_former_page_folders(data_dir: Path) -> None:
    """Remove what earlier versions of ``milkmobs serve`` left in ``data_dir`` (a run killed by SIGKILL
    left its folder of page files; every run left the empty parent), keeping the folder of a run of
    such a version that still holds its lock, so an older server on the same data is not disturbed."""
    root = Path(data_dir).expanduser() / FORMER_PAGES_FOLDER
    if not root.is_dir():
        return
    for folder in root.iterdir():
        try:
            lock = open(folder / "lock", "rb")  # noqa: SIM115 - closed below, after the removal
        except FileNotFoundError:
            shutil.rmtree(folder, ignore_errors=True)  # no lock: nothing can be using it
            continue
        except OSError:
            continue  # unreadable: left as it is
        with lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a run of the earlier version is alive
            shutil.rmtree(folder, ignore_errors=True)  # held meanwhile, as that version did
    with contextlib.suppress(OSError):
        root.rmdir()  # only when nothing was kept
