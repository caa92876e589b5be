"""The page cache shared by the HTTP workers: a page one worker computed is answered by another without
computing it, only at the same data version and within the page's age; a page overwritten, half-written
or damaged in the shared memory is computed, never answered; and the memory is shared with the
processes forked after it was made."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from milkmobs.server.page_cache import Answer, PageCache
from milkmobs.server.shared_pages import SharedPages


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Worker:
    """One worker's cache over the shared memory (its own ring), counting what it had to compute."""

    def __init__(self, shared: SharedPages, version: list[int]) -> None:
        self.shared = shared
        self.cache = PageCache(lambda: (version[0], 7), max_age_seconds=30, clock=shared._clock, shared=shared)
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
def workers() -> Iterator[Callable[..., tuple[Worker, Worker, list[int], Clock]]]:
    made: list[Worker] = []

    def make() -> tuple[Worker, Worker, list[int], Clock]:
        version, clock = [1], Clock()
        memory = SharedPages(2, clock=clock, slots=64, ring_bytes=128 * 1024)
        made.extend([Worker(memory.writer(0), version), Worker(memory.writer(1), version)])
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


def test_damaged_memory_computes_the_pages_and_never_answers_from_the_damage(workers: Any) -> None:
    first, second, _, _ = workers()
    for n in range(20):
        first.get(f"/videos/{n}")
    memory = first.shared._map
    assert memory is not None
    for at in range(0, len(memory), 7):  # every seventh byte of the marks, the slots and the rings changed
        memory[at] ^= 0x5A
    for n in range(20):
        status, _, body = second.get(f"/videos/{n}")
        assert status.startswith("200") and json.loads(body)["path"] == f"/videos/{n}"
    assert len(second.computed) == 20


def test_a_page_changed_after_it_was_written_is_not_answered() -> None:
    """A reader that copies a record while a writer changes it sees bytes whose checksum fails."""
    clock = Clock()
    memory = SharedPages(2, clock=clock, slots=64, ring_bytes=64 * 1024)
    writer, reader = memory.writer(0), memory.writer(1)
    writer.put("/videos/a", "1.7", clock.now, [("Content-Type", "application/json")], b'{"videoId":"a"}')
    assert reader.get("/videos/a", "1.7", 30) is not None
    raw = memory._map
    assert raw is not None
    at = raw.find(b'{"videoId":"a"}')
    raw[at + 2] = ord("X")  # one byte of the body, as a half-done write would leave it
    assert reader.get("/videos/a", "1.7", 30) is None


def test_a_slot_written_by_two_workers_at_once_names_no_page() -> None:
    """Two workers putting pages whose keys share a slot may leave it with one's position and the
    other's length or ring: the lookup finds no page rather than a wrong one."""
    from milkmobs.server import shared_pages

    clock = Clock()
    memory = SharedPages(2, clock=clock, slots=1, ring_bytes=64 * 1024)  # every key in the one slot
    first, second = memory.writer(0), memory.writer(1)
    raw = memory._map
    assert raw is not None
    slot_at = first._slot_at(b"/videos/a")
    first.put("/videos/a", "1", clock.now, [], b'{"a": 1}')
    position_a, length_a, ring_a = shared_pages._SLOT.unpack_from(raw, slot_at)
    first.put("/videos/b", "1", clock.now, [], b'{"b": 22}')  # the same ring, after a's record
    second.put("/videos/a", "1", clock.now, [], b'{"a": 333}')  # the other ring
    position_2, length_2, ring_2 = shared_pages._SLOT.unpack_from(raw, slot_at)
    assert second.get("/videos/a", "1", 30) is not None  # the last write wins the slot
    for torn in ((position_2, length_a, ring_a), (position_a, length_2, ring_a), (position_a, length_a, ring_2)):
        shared_pages._SLOT.pack_into(raw, slot_at, *torn)
        page = first.get("/videos/a", "1", 30)
        assert page is None or page.body in (b'{"a": 1}', b'{"a": 333}'), torn  # never another page's bytes
    shared_pages._SLOT.pack_into(raw, slot_at, position_a, length_a + 1, ring_a)  # a's record plus a byte
    assert first.get("/videos/a", "1", 30) is None


def test_the_shared_memory_stays_bounded_and_keeps_the_newest_pages() -> None:
    clock = Clock()
    pages = SharedPages(1, slots=4096, ring_bytes=16 * 1024, clock=clock)
    size = len(pages._map or b"")
    for i in range(600):
        clock.now += 0.001
        pages.put(f"/videos/{i}", "1.7", clock.now, [("Content-Type", "application/json")], b'{"n": %d}' % i)
    assert len(pages._map or b"") == size  # a ring: written over, never grown
    assert 0 < pages.count() < 600
    assert pages.get("/videos/599", "1.7", 30) is not None  # the newest are kept
    assert pages.get("/videos/0", "1.7", 30) is None  # its bytes were written over, its slot still names them
    pages.close()
    assert pages.get("/videos/599", "1.7", 30) is None and pages.count() == 0


def test_pages_are_shared_with_the_processes_forked_after_the_memory_was_made() -> None:
    """A page put by a forked process is read by its parent (the supervisor maps, the workers inherit)."""
    import os

    clock = Clock()
    memory = SharedPages(2, clock=clock, slots=64, ring_bytes=64 * 1024)
    reader = memory.writer(0)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child writes one page and leaves
        try:
            memory.writer(1).put("/videos/49", "3.1", clock.now, [("Content-Type", "application/json")], b'{"n": 49}')
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    page = reader.get("/videos/49", "3.1", 30)
    assert page is not None and page.body == b'{"n": 49}' and page.headers == [("Content-Type", "application/json")]
    assert reader.get("/videos/49", "3.2", 30) is None  # another version
    assert reader.get("/videos/4", "3.1", 30) is None  # another key
    clock.now += 31
    assert reader.get("/videos/49", "3.1", 30) is None  # too old
    with pytest.raises(ValueError, match="ring 2 of 2"):
        memory.writer(2)


def test_the_page_folders_of_earlier_versions_are_removed_unless_their_run_is_alive(tmp_path: Any) -> None:
    import fcntl

    from milkmobs.server.shared_pages import FORMER_PAGES_FOLDER, remove_former_page_folders

    root = tmp_path / FORMER_PAGES_FOLDER
    for name in ("run-101", "run-102", ".making-x"):
        (root / name).mkdir(parents=True)
        (root / name / "pages.sqlite3").write_bytes(b"old pages")
    (root / "run-101" / "lock").touch()
    (root / "run-102" / "lock").touch()
    with open(root / "run-102" / "lock", "ab") as alive:  # a run of the earlier version still serving
        fcntl.flock(alive.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        remove_former_page_folders(tmp_path)
        assert sorted(p.name for p in root.iterdir()) == ["run-102"]
    remove_former_page_folders(tmp_path)
    assert not root.exists()
    remove_former_page_folders(tmp_path)  # nothing left: nothing to do
    assert sorted(p.name for p in tmp_path.iterdir()) == []
