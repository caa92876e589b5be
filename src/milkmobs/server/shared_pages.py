"""The page cache's second level: answers shared by every HTTP worker of one ``milkmobs serve``.

Each worker keeps its own LRU (``page_cache.py``); a page one worker computed is found here by the
others, so a page is computed about once per data version instead of once per worker (the kernel
spreads connections, so every worker sees every hot page). One file in a folder the supervisor makes
for the run and removes at its end, mapped into every worker's memory: losing it loses nothing.

The file is a table of slots (a key hashes to one slot; a later page of another key takes it over)
and a ring of records, each a page with its key, version, age and checksum. A lookup takes no lock
and makes no system call (a few µs; the SQLite file this replaced cost ~50 µs per page looked up and
written, as much as computing a ``/videos/{id}`` page, so cheap pages were not shared): it copies the
record its key's slot names and takes it only if its checksum, length, key and version check out and
no write has reserved those bytes since (a writer moves the ring's reservation mark before it
copies); anything else is a miss, so a slot or record read half-written is never an answer. A write
takes the file's ``flock`` without waiting (the other worker writing: this page is not shared),
reserves its bytes, copies the record, then points the slot at it.

It is a cache: a page that cannot be shared (the file unusable, the other worker writing at that
moment) is computed, said once in the log, and never fails a request.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import shutil
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from milkmobs.domain import ConfigurationError

logger = logging.getLogger("milkmobs.server")

FILE_NAME = "pages.bin"
#: Under the data directory: one folder per running ``milkmobs serve`` (``run-<supervisor pid>``).
RUNS_FOLDER = "serve-pages"
_RUN_LOCK = "lock"  # flock'ed while any process of the run lives
_MAGIC = b"mmpages1"
_HEADER = struct.Struct("<8sQQ")  # magic, slots, ring bytes
_RESERVED = struct.Struct("<Q")  # at _RESERVED_AT: ring bytes ever reserved (an absolute position)
_RESERVED_AT = _HEADER.size
_SLOTS_AT = 64
_SLOT = struct.Struct("<QQ")  # a record's absolute ring position and its length (0: empty)
_CHECKSUM = struct.Struct("<I")  # a record's first bytes: the CRC-32 of the rest
_RECORD = struct.Struct("<dIIII")  # made_at, key, version, headers and body bytes; then those four
DEFAULT_SLOTS = 65_536
DEFAULT_RING_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SharedPage:
    made_at: float  # time.time() of the computation (wall clock: compared across processes)
    headers: list[tuple[str, str]]
    body: bytes


class SharedPages:
    """Pages by key, each valid for one data version (a string). The folder's file is made by the first
    to open it with ``slots`` and ``ring_bytes`` (sparse: it takes the memory its pages take); the
    others use it as it is. A page over an eighth of the ring is not shared."""

    def __init__(
        self,
        folder: Path,
        *,
        slots: int = DEFAULT_SLOTS,
        ring_bytes: int = DEFAULT_RING_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(folder) / FILE_NAME
        self._clock = clock
        self._lock = threading.Lock()  # the flock is the process's: its threads take turns here first
        self._warned = False
        self._map: mmap.mmap | None = None
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigurationError(f"cannot open the shared page file {self.path}: {exc}") from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # the first to come makes it, the others wait for that
            try:
                if os.fstat(self._fd).st_size == 0:
                    os.ftruncate(self._fd, _SLOTS_AT + slots * _SLOT.size + ring_bytes)
                    os.pwrite(self._fd, _HEADER.pack(_MAGIC, slots, ring_bytes), 0)
                magic, made_slots, made_ring = _HEADER.unpack(os.pread(self._fd, _HEADER.size, 0))
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._slots, self._ring = int(made_slots), int(made_ring)
            size = _SLOTS_AT + self._slots * _SLOT.size + self._ring
            if magic != _MAGIC or not self._slots or not self._ring or os.fstat(self._fd).st_size != size:
                raise ConfigurationError(f"{self.path} is not a shared page file of this milkmobs; remove it")
            self._map = mmap.mmap(self._fd, size)
        except OSError as exc:
            os.close(self._fd)
            raise ConfigurationError(f"cannot map the shared page file {self.path}: {exc}") from exc
        except BaseException:
            os.close(self._fd)
            raise
        self._ring_at = _SLOTS_AT + self._slots * _SLOT.size

    def get(self, key: str, version: str, max_age: float) -> SharedPage | None:
        """The page stored under ``key`` at ``version``, if younger than ``max_age`` seconds."""
        pages = self._map
        if pages is None:
            return None
        encoded = key.encode("utf-8", "surrogatepass")
        position, length = _SLOT.unpack_from(pages, self._slot_at(encoded))
        if not length or length > self._ring or position % self._ring + length > self._ring:
            return None
        start = self._ring_at + position % self._ring
        try:
            record = pages[start : start + length]
        except ValueError:  # closed meanwhile: the worker is stopping
            return None
        (reserved,) = _RESERVED.unpack_from(pages, _RESERVED_AT)
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
        """Share a page, unless another worker is writing at this very moment (then it is not shared)."""
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
        pages = self._map
        if pages is None or length > self._ring // 8:
            return
        with self._lock:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # the other worker is writing: a cache may skip a page rather than wait
            except OSError as exc:
                self._warn(exc)
                return
            try:
                (position,) = _RESERVED.unpack_from(pages, _RESERVED_AT)
                if position % self._ring + length > self._ring:  # records never wrap: on to the ring's start
                    position += self._ring - position % self._ring
                _RESERVED.pack_into(pages, _RESERVED_AT, position + length)  # before the bytes change
                start = self._ring_at + position % self._ring
                pages[start : start + length] = record
                _SLOT.pack_into(pages, self._slot_at(encoded), position, length)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def count(self) -> int:
        """How many pages the file holds (every version)."""
        pages = self._map
        if pages is None:
            return 0
        (reserved,) = _RESERVED.unpack_from(pages, _RESERVED_AT)
        count = 0
        for slot in range(self._slots):
            position, length = _SLOT.unpack_from(pages, _SLOTS_AT + slot * _SLOT.size)
            count += bool(length) and reserved <= position + self._ring
        return count

    def close(self) -> None:
        """Unmap the file (the server's threads have stopped)."""
        with self._lock:
            if self._map is not None:
                self._map.close()
                self._map = None
                os.close(self._fd)

    def _slot_at(self, encoded_key: bytes) -> int:
        return _SLOTS_AT + zlib.crc32(encoded_key) % self._slots * _SLOT.size

    def _warn(self, exc: OSError) -> None:
        if self._warned:  # once: a broken cache file must not flood the log
            return
        self._warned = True
        logger.warning(
            "the shared page cache %s could not share a page (%s); pages are computed instead", self.path, exc
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
