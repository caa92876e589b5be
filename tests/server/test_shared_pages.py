"""The page cache shared by the HTTP workers: a page one worker computed is answered by another without
computing it, only at the same data version and within the page's age; a page overwritten, half-written
or damaged in the file is computed, never answered; and a cache file that cannot be used never fails a
request."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from milkmobs.server.page_cache import Answer, PageCache
from milkmobs.server.shared_pages import FILE_NAME, RUNS_FOLDER, RunFolder, SharedPages


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Worker:
    """One worker's cache over the shared folder, counting what it had to compute."""

    def __init__(self, folder: Path, version: list[int], clock: Clock) -> None:
        self.shared = SharedPages(folder, clock=clock, slots=64, ring_bytes=64 * 1024)
        self.cache = PageCache(lambda: (version[0], 7), max_age_seconds=30, clock=clock, shared=self.shared)
        self.computed: list[str] = []

    def get(self, path: str, query: str = "", status: int = 200) -> tuple[str, dict[str, str], bytes]:
        def compute() -> Answer:
            self.computed.append(f"{path}?{query}")
            body = json.dumps({"path": path, "n": len(self.computed)}).encode()
            return status, [("Content-Type", "application/json")], body

        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": io.BytesIO()}
        seen: list[Any] = []
        body = b"".join(self.cache.answer(environ, lambda s, h, e=None: seen.append((s, h)), path, compute))
        return seen[0][0], dict(seen[0][1]), body


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., tuple[Worker, Worker, list[int], Clock]]]:
    made: list[Worker] = []

    def make() -> tuple[Worker, Worker, list[int], Clock]:
        version, clock = [1], Clock()
        made.extend([Worker(tmp_path, version, clock), Worker(tmp_path, version, clock)])
        return made[-2], made[-1], version, clock

    yield make
    for worker in made:
        worker.shared.close()


def test_a_page_computed_by_one_worker_is_answered_by_the_other(workers: Any) -> None:
    first, second, _, _ = workers()
    status, headers, body = first.get("/videos/abc")
    assert status.startswith("200") and first.computed == ["/videos/abc?"]
    status2, headers2, body2 = second.get("/videos/abc")
    assert second.computed == [] and status2.startswith("200")
    assert body2 == body and headers2["ETag"] == headers["ETag"]  # the same page, so the same ETag
    # Other queries are other pages.
    second.get("/search/similar", "videoId=abc&limit=10")
    assert second.computed == ["/search/similar?videoId=abc&limit=10"]
    first.get("/search/similar", "videoId=abc&limit=10")
    assert first.computed == ["/videos/abc?"]


def test_a_new_data_version_or_an_old_page_is_computed_again(workers: Any) -> None:
    first, second, version, clock = workers()
    first.get("/mobs")
    version[0] = 2  # a write, in any process
    second.get("/mobs")
    assert second.computed == ["/mobs?"]
    clock.now += 31  # older than the page's life (its signed URLs age)
    first.get("/mobs")
    assert first.computed == ["/mobs?", "/mobs?"]


def test_every_computed_page_is_shared_and_looked_up_before_it_is_computed(workers: Any) -> None:
    first, second, _, _ = workers()
    looked_up: list[str] = []
    lookup = second.shared.get
    second.shared.get = lambda key, *rest: looked_up.append(key) or lookup(key, *rest)  # type: ignore[method-assign]
    first.get("/videos/a")  # a cheap page is shared too: a lookup costs a few microseconds
    second.get("/videos/a")
    second.get("/search/similar", "videoId=b")
    assert second.computed == ["/search/similar?videoId=b"]
    assert looked_up == ["/videos/a\x00\x00", "/search/similar\x00videoId=b\x00"]
    assert first.shared.count() == 2
    second.get("/videos/a")  # now in its own cache: not looked up again
    assert len(looked_up) == 2


def test_errors_are_never_shared(workers: Any) -> None:
    first, second, _, _ = workers()
    assert first.get("/videos/gone", status=404)[0].startswith("404")
    assert second.get("/videos/gone", status=404)[0].startswith("404")
    assert len(first.computed) == len(second.computed) == 1


def test_a_damaged_cache_file_computes_the_pages_and_never_answers_from_the_damage(
    workers: Any, tmp_path: Path
) -> None:
    first, second, _, _ = workers()
    for n in range(20):
        first.get(f"/videos/{n}")
    path = tmp_path / FILE_NAME
    data = bytearray(path.read_bytes())
    for at in range(64, len(data), 7):  # every seventh byte of the slots and the ring changed in place
        data[at] ^= 0x5A
    with open(path, "r+b") as file:
        file.write(data)
    for n in range(20):
        status, _, body = second.get(f"/videos/{n}")
        assert status.startswith("200") and json.loads(body)["path"] == f"/videos/{n}"
    assert len(second.computed) == 20


def test_a_page_changed_after_it_was_written_is_not_answered(tmp_path: Path) -> None:
    """A reader that copies a record while a writer changes it sees bytes whose checksum fails."""
    clock = Clock()
    writer = SharedPages(tmp_path, clock=clock, slots=64, ring_bytes=64 * 1024)
    reader = SharedPages(tmp_path, clock=clock)
    try:
        writer.put("/videos/a", "1.7", clock.now, [("Content-Type", "application/json")], b'{"videoId":"a"}')
        assert reader.get("/videos/a", "1.7", 30) is not None
        path = tmp_path / FILE_NAME
        data = path.read_bytes()
        at = data.index(b'{"videoId":"a"}')
        with open(path, "r+b") as file:
            file.seek(at + 2)
            file.write(b"X")  # one byte of the body, as a half-done write would leave it
        assert reader.get("/videos/a", "1.7", 30) is None
    finally:
        writer.close()
        reader.close()


def test_a_writer_busy_in_another_worker_is_not_waited_for(tmp_path: Path) -> None:
    import fcntl

    clock = Clock()
    pages = SharedPages(tmp_path, clock=clock)
    other = open(tmp_path / FILE_NAME, "rb")  # noqa: SIM115 - closed below
    try:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)  # another worker in the middle of its write
        pages.put("/mobs", "1.7", clock.now, [], b"[]")  # returns at once: the page is not shared
        assert pages.get("/mobs", "1.7", 30) is None
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        pages.put("/mobs", "1.7", clock.now, [], b"[]")
        assert pages.get("/mobs", "1.7", 30) is not None
    finally:
        other.close()
        pages.close()


def test_the_shared_file_stays_bounded_and_keeps_the_newest_pages(tmp_path: Path) -> None:
    clock = Clock()
    pages = SharedPages(tmp_path, slots=4096, ring_bytes=16 * 1024, clock=clock)
    size = (tmp_path / FILE_NAME).stat().st_size
    for i in range(600):
        clock.now += 0.001
        pages.put(f"/videos/{i}", "1.7", clock.now, [("Content-Type", "application/json")], b'{"n": %d}' % i)
    assert (tmp_path / FILE_NAME).stat().st_size == size  # a ring: written over, never grown
    assert 0 < pages.count() < 600
    assert pages.get("/videos/599", "1.7", 30) is not None  # the newest are kept
    assert pages.get("/videos/0", "1.7", 30) is None  # its bytes were written over, its slot still names them
    pages.close()


def test_pages_are_shared_through_the_file_between_processes(tmp_path: Path) -> None:
    """A page put by one process is read by another that maps the same file (what the workers do)."""
    import os

    clock = Clock()
    reader = SharedPages(tmp_path, clock=clock)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child writes one page and leaves
            try:
                writer = SharedPages(tmp_path, clock=clock)
                writer.put("/videos/49", "3.1", clock.now, [("Content-Type", "application/json")], b'{"n": 49}')
                writer.close()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        page = reader.get("/videos/49", "3.1", 30)
        assert page is not None and page.body == b'{"n": 49}' and page.headers == [("Content-Type", "application/json")]
        assert reader.get("/videos/49", "3.2", 30) is None  # another version
        assert reader.get("/videos/4", "3.1", 30) is None  # another key
        clock.now += 31
        assert reader.get("/videos/49", "3.1", 30) is None  # too old
    finally:
        reader.close()


def test_a_run_folder_lives_in_the_data_directory_and_an_abandoned_one_is_removed(tmp_path: Path) -> None:
    """A run whose processes all died without removing their folder (SIGKILL) leaves it unlocked: the
    next run removes it; a folder whose run still has a process alive is kept."""
    import os
    import signal

    def start_run() -> tuple[int, Path]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child holds its run open until killed
            try:  # never back into pytest: a copy of this worker would run on, sharing its descriptors
                os.close(read)
                folder = RunFolder(tmp_path)
                os.write(write, str(folder.path).encode())
                os.close(write)
                signal.pause()
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as made:
            return pid, Path(made.read())

    alive_pid, alive = start_run()
    killed_pid, killed = start_run()
    try:
        assert alive.parent == killed.parent == tmp_path / RUNS_FOLDER
        os.kill(killed_pid, signal.SIGKILL)
        os.waitpid(killed_pid, 0)
        assert killed.is_dir()  # nothing removed it
        mine = RunFolder(tmp_path)
        assert not killed.exists() and alive.is_dir() and mine.path.is_dir()
        SharedPages(mine.path).close()
        mine.close()
        assert not mine.path.exists()
    finally:
        os.kill(alive_pid, signal.SIGKILL)
        os.waitpid(alive_pid, 0)
