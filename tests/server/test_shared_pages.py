"""The page cache shared by the HTTP workers: a page one worker computed is answered by another without
computing it, only at the same data version and within the page's age, and a cache file that cannot be
used never fails a request."""

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


class Timer:
    """``time.perf_counter`` for the page cache: a computation takes what ``cost`` says."""

    def __init__(self) -> None:
        self.now = 0.0
        self.cost = 0.002  # a page worth sharing

    def __call__(self) -> float:
        return self.now


class Worker:
    """One worker's cache over the shared folder, counting what it had to compute."""

    def __init__(self, folder: Path, version: list[int], clock: Clock) -> None:
        self.shared = SharedPages(folder, clock=clock, background=False)
        self.timer = Timer()
        self.cache = PageCache(
            lambda: (version[0], 7), max_age_seconds=30, clock=clock, shared=self.shared, timer=self.timer
        )
        self.computed: list[str] = []

    def get(self, path: str, query: str = "", status: int = 200) -> tuple[str, dict[str, str], bytes]:
        def compute() -> Answer:
            self.timer.now += self.timer.cost
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


def test_pages_cheaper_to_compute_than_to_share_are_neither_shared_nor_looked_up(workers: Any) -> None:
    first, second, _, _ = workers()
    for worker in (first, second):
        worker.timer.cost = 0.0001  # a /videos/{id} page: a shared lookup and write cost about as much
    first.get("/videos/a")
    second.get("/videos/a")
    assert first.computed == second.computed == ["/videos/a?"]  # not shared
    first.timer.cost = 0.002
    first.get("/videos/b")  # shared: it was worth it...
    looked_up: list[str] = []
    lookup = second.shared.get
    second.shared.get = lambda key, *rest: looked_up.append(key) or lookup(key, *rest)  # type: ignore[method-assign]
    second.get("/videos/b")  # ...but this worker's pages of the route are cheap: not looked up
    assert second.computed == ["/videos/a?", "/videos/b?"] and looked_up == []
    second.get("/search/similar", "videoId=b")  # another route: looked up (nothing there yet)
    assert looked_up == ["/search/similar\x00videoId=b\x00"] and first.shared.count() == 1


def test_errors_are_never_shared(workers: Any) -> None:
    first, second, _, _ = workers()
    assert first.get("/videos/gone", status=404)[0].startswith("404")
    assert second.get("/videos/gone", status=404)[0].startswith("404")
    assert len(first.computed) == len(second.computed) == 1


def test_an_unusable_cache_file_computes_the_page_and_logs_once(
    workers: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, second, _, _ = workers()
    first.get("/feed", "limit=20")
    first.shared._db.connection().execute("DROP TABLE pages")  # damaged under the running server
    for _ in range(2):
        status, _, body = second.get("/feed", "limit=20")
        assert status.startswith("200") and json.loads(body)["path"] == "/feed"
    assert second.computed == ["/feed?limit=20"]  # then from its own cache
    warnings = [r for r in caplog.records if "shared page cache" in r.getMessage()]
    assert len(warnings) == 1 and str(tmp_path / FILE_NAME) in warnings[0].getMessage()


def test_the_shared_file_stays_bounded(tmp_path: Path) -> None:
    clock = Clock()
    pages = SharedPages(tmp_path, max_entries=10, clock=clock, background=False)
    for i in range(600):
        clock.now += 0.001
        pages.put(f"/videos/{i}", "1.7", clock.now, [("Content-Type", "application/json")], b"{}")
    count = pages.count()
    assert count <= 10 + 256  # trimmed every 256 writes
    assert pages.get("/videos/599", "1.7", 30) is not None  # the newest are kept
    assert pages.get("/videos/0", "1.7", 30) is None
    pages.close()


def test_the_background_writer_shares_pages_without_making_the_answer_wait(tmp_path: Path) -> None:
    clock = Clock()
    writer, reader = SharedPages(tmp_path, clock=clock), SharedPages(tmp_path, clock=clock, background=False)
    try:
        for i in range(50):
            writer.put(f"/videos/{i}", "3.1", clock.now, [("Content-Type", "application/json")], b'{"n": %d}' % i)
        writer.flush()
        page = reader.get("/videos/49", "3.1", 30)
        assert page is not None and page.body == b'{"n": 49}' and page.headers == [("Content-Type", "application/json")]
        assert reader.get("/videos/49", "3.2", 30) is None  # another version
        writer.put("/mobs", "3.1", clock.now, [], b"[]")
        writer.close()  # writes what is pending before it stops
        assert reader.get("/mobs", "3.1", 30) is not None
    finally:
        writer.close()
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
        SharedPages(mine.path, background=False).close()
        mine.close()
        assert not mine.path.exists()
    finally:
        os.kill(alive_pid, signal.SIGKILL)
        os.waitpid(alive_pid, 0)
