"""SQLite stores beyond the contract suites: concurrency, counters, indexes, cursor scoping, persistence."""

from __future__ import annotations

import random
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from tests.contract.support import T0, collect_pages, make_video

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.adapters.local.sqlite_events import SQLiteEventLog
from milkmobs.adapters.local.sqlite_metrics import SQLiteMetrics
from milkmobs.adapters.local.sqlite_mobs import SQLiteMobStore
from milkmobs.adapters.local.sqlite_videos import SQLiteVideoStore
from milkmobs.adapters.memory import FixedClock, InMemoryVideoStore
from milkmobs.domain import (
    ConflictError,
    InvalidInputError,
    Mob,
    ModelType,
    ModelUsage,
    ScoreBreakdown,
    ValidationResult,
    Video,
    VideoAnalyzed,
    VideoStatus,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SQLiteDatabase]:
    database = SQLiteDatabase(tmp_path / "milkmobs.sqlite3")
    yield database
    database.close()


def _run_threads(count: int, work: Callable[[int], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_only_one_of_many_concurrent_transitions_wins(db: SQLiteDatabase) -> None:
    store = SQLiteVideoStore(db, cursor_secret=b"s")
    store.add(make_video("v1", status=VideoStatus.UPLOADED))
    outcomes: list[str] = []

    def move(i: int) -> None:
        video = store.get("v1")
        try:
            store.save(video.transitioned(VideoStatus.PROCESSING, at=T0), expected_status=VideoStatus.UPLOADED)
            outcomes.append("won")
        except ConflictError:
            outcomes.append("conflict")

    _run_threads(8, move)
    assert outcomes.count("won") == 1 and outcomes.count("conflict") == 7
    assert store.stats().by_status == {"processing": 1}


def test_concurrent_count_adjustments_all_land(db: SQLiteDatabase) -> None:
    mobs = SQLiteMobStore(db)
    mobs.add(Mob(mob_id="m1", name="m", centroid=[1.0, 0.0], created_at=T0, updated_at=T0))
    _run_threads(6, lambda i: [mobs.adjust_count("m1", +1) for _ in range(25)] and None)
    assert mobs.get("m1").video_count == 150


def test_concurrent_centroid_saves_let_one_writer_per_version_through(db: SQLiteDatabase) -> None:
    mobs = SQLiteMobStore(db)
    mobs.add(Mob(mob_id="m1", name="m", centroid=[1.0, 0.0], created_at=T0, updated_at=T0))
    wins: list[int] = []

    def update(i: int) -> None:
        mob = mobs.get("m1")
        try:
            mobs.save(mob.model_copy(update={"name": f"w{i}"}), expected_version=mob.version)
            wins.append(i)
        except ConflictError:
            pass

    _run_threads(6, update)
    final = mobs.get("m1")
    assert final.version == len(wins) >= 1
    assert final.name in {f"w{i}" for i in wins}


def _validated(video: Video, score: float, seconds: float) -> Video:
    result = ValidationResult(
        video_id=video.video_id,
        score=score,
        passed=score >= 0.7,
        breakdown=ScoreBreakdown(visual=score, audio=None, ocr=score, hashtags=score),
    )
    status = VideoStatus.VALIDATED if score >= 0.7 else VideoStatus.REJECTED
    return video.model_copy(
        update={"status": status, "validation": result, "completed_at": video.created_at + timedelta(seconds=seconds)}
    )


def test_stats_counters_match_a_full_scan_after_random_writes(db: SQLiteDatabase) -> None:
    store = SQLiteVideoStore(db, cursor_secret=b"s")
    rng = random.Random(4)
    live: dict[str, Video] = {}
    for step in range(120):
        action = rng.random()
        if action < 0.5 or not live:
            video = make_video(f"v{step}", created_at=T0 + timedelta(seconds=step))
            store.add(video)
            live[video.video_id] = video
        elif action < 0.85:
            video = live[rng.choice(sorted(live))]
            new = _validated(video, rng.random(), rng.uniform(1, 60))
            store.save(new, expected_status=video.status)
            live[new.video_id] = new
        else:
            video_id = rng.choice(sorted(live))
            store.delete(video_id)
            del live[video_id]
    stats = store.stats()
    expected_counts: dict[str, int] = {}
    for video in live.values():
        expected_counts[video.status.value] = expected_counts.get(video.status.value, 0) + 1
    assert stats.by_status == expected_counts
    assert stats.total_videos == len(live)
    scores = [v.validation.score for v in live.values() if v.validation]
    assert stats.average_validation_score == pytest.approx(np.mean(scores))
    seconds = [
        (v.completed_at - v.created_at).total_seconds()
        for v in live.values()
        if v.status is VideoStatus.VALIDATED and v.completed_at
    ]
    assert stats.average_seconds_to_validate == pytest.approx(np.mean(seconds))


@pytest.mark.parametrize(
    ("method", "argument", "index"),
    [
        ("list_by_user", "user_id = 'u'", "videos_by_user"),
        ("list_by_status", "status = 'validated'", "videos_by_status"),
        ("list_by_mob", "mob_id = 'm'", "videos_by_mob"),
        ("list_by_status(None)", "1 = 1", "videos_by_created"),
    ],
)
def test_list_queries_walk_an_index_without_sorting(db: SQLiteDatabase, method: str, argument: str, index: str) -> None:
    query = (
        f"EXPLAIN QUERY PLAN SELECT video_id FROM videos WHERE {argument} AND (created_us, video_id) < (1, 'x')"
        " ORDER BY created_us DESC, video_id DESC LIMIT 5"
    )
    plan = " ".join(str(row[-1]) for row in db.connection().execute(query).fetchall())
    assert index in plan, (method, plan)
    assert "TEMP B-TREE" not in plan  # no sort step: pages come straight off the index


def test_cursors_are_bound_to_the_store_secret_and_the_query(db: SQLiteDatabase) -> None:
    store = SQLiteVideoStore(db, cursor_secret=b"one")
    for i in range(3):
        store.add(make_video(f"v{i}", created_at=T0 + timedelta(seconds=i), mob_id="m"))
    cursor = store.list_by_user("user-1", limit=1).next_cursor
    assert cursor is not None
    other_secret = SQLiteVideoStore(db, cursor_secret=b"two")
    with pytest.raises(InvalidInputError) as caught:
        other_secret.list_by_user("user-1", limit=1, cursor=cursor)
    assert caught.value.field == "cursor"
    with pytest.raises(InvalidInputError):
        store.list_by_user("user-2", limit=1, cursor=cursor)
    with pytest.raises(InvalidInputError):
        store.list_by_mob("m", limit=1, cursor=cursor)
    assert [v.video_id for v in store.list_by_user("user-1", limit=5, cursor=cursor).items] == ["v1", "v0"]


def test_records_survive_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "milkmobs.sqlite3"
    db = SQLiteDatabase(path)
    clock = FixedClock(T0)
    SQLiteVideoStore(db, cursor_secret=b"s").add(make_video("v1"))
    SQLiteEventLog(db, clock=clock).publish([VideoAnalyzed(video_id="v1", status=VideoStatus.REJECTED)])
    SQLiteMetrics(db, clock=clock).record_usage([ModelUsage(model_id="local", model_type=ModelType.MARENGO)])
    db.close()
    db = SQLiteDatabase(path)
    try:
        assert SQLiteVideoStore(db, cursor_secret=b"s").get("v1") == make_video("v1")
        log = SQLiteEventLog(db, clock=clock)
        assert log.published() == [VideoAnalyzed(video_id="v1", status=VideoStatus.REJECTED)]
        assert log.read()[0].published_at == T0
        totals = SQLiteMetrics(db, clock=clock).usage_between(T0, T0 + timedelta(seconds=1))
        assert [(t.model_id, t.invocations) for t in totals] == [("local", 1)]  # stamped with the clock
    finally:
        db.close()


def test_concurrent_writers_from_many_threads_lose_nothing(db: SQLiteDatabase) -> None:
    store = SQLiteVideoStore(db, cursor_secret=b"s")
    bus = SQLiteEventLog(db, clock=FixedClock(T0))

    def write(i: int) -> None:
        for j in range(20):
            store.add(make_video(f"t{i}-{j}", user_id=f"u{i}", created_at=T0 + timedelta(seconds=j)))
            bus.publish([VideoAnalyzed(video_id=f"t{i}-{j}", status=VideoStatus.REJECTED)])

    _run_threads(5, write)
    assert store.stats().total_videos == 100
    assert len(bus.published()) == 100
    assert len(store.list_by_user("u3", limit=100).items) == 20


class VideoStoreAgainstMemory(RuleBasedStateMachine):
    """Random adds, transitions and deletes: the SQLite store answers every list and ``stats()`` like
    the in-memory store does."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory(prefix="milkmobs-store-model-")
        self.db = SQLiteDatabase(Path(self.tmp.name) / "milkmobs.sqlite3")
        self.sqlite = SQLiteVideoStore(self.db, cursor_secret=b"s")
        self.memory = InMemoryVideoStore()
        self.step = 0

    @rule(user=st.sampled_from(["u1", "u2"]), same_time=st.booleans(), mob=st.sampled_from([None, "m1"]))
    def add(self, user: str, same_time: bool, mob: str | None) -> None:
        self.step += 1
        created = T0 if same_time else T0 + timedelta(seconds=self.step)  # ties on created_at are ordered by id
        video = make_video(f"v{self.step:03d}", user_id=user, created_at=created, mob_id=mob)
        self.sqlite.add(video)
        self.memory.add(video)

    @rule(pick=st.integers(0, 10**6), score=st.floats(0, 1), seconds=st.floats(0.5, 100))
    def validate(self, pick: int, score: float, seconds: float) -> None:
        ids = [v.video_id for v in self.memory.list_by_status(None, limit=100).items]
        if ids:
            current = self.memory.get(ids[pick % len(ids)])
            new = _validated(current, score, seconds)
            # a save sets the revision of the record it saved: each store gets its own copy
            self.sqlite.save(new.model_copy(), expected_status=current.status)
            self.memory.save(new, expected_status=current.status)

    @rule(pick=st.integers(0, 10**6))
    def delete(self, pick: int) -> None:
        ids = [v.video_id for v in self.memory.list_by_status(None, limit=100).items]
        if ids:
            assert self.sqlite.delete(ids[pick % len(ids)]) == self.memory.delete(ids[pick % len(ids)])

    @invariant()
    def same_answers(self) -> None:
        def pages(store: SQLiteVideoStore | InMemoryVideoStore, query: str) -> list[str]:
            fetch = {
                "u1": lambda c: store.list_by_user("u1", limit=3, cursor=c),
                "validated": lambda c: store.list_by_status(VideoStatus.VALIDATED, limit=3, cursor=c),
                "all": lambda c: store.list_by_status(None, limit=3, cursor=c),
                "m1": lambda c: store.list_by_mob("m1", limit=3, cursor=c),
            }[query]
            return collect_pages(fetch, limit=3)

        for query in ("u1", "validated", "all", "m1"):
            assert pages(self.sqlite, query) == pages(self.memory, query)
        mine, theirs = self.sqlite.stats(), self.memory.stats()
        assert (mine.total_videos, mine.by_status) == (theirs.total_videos, theirs.by_status)
        for name in ("average_validation_score", "average_seconds_to_validate"):
            expected = getattr(theirs, name)
            assert getattr(mine, name) == (None if expected is None else pytest.approx(expected))

    def teardown(self) -> None:
        self.db.close()
        self.tmp.cleanup()


TestVideoStoreAgainstMemory = VideoStoreAgainstMemory.TestCase
TestVideoStoreAgainstMemory.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)


def test_a_data_directory_from_before_revisions_keeps_working_its_videos_at_revision_0(tmp_path: Path) -> None:
    from milkmobs.adapters.local.sqlite_db import MAIN_MIGRATIONS
    from milkmobs.domain import VersionConflictError

    path = tmp_path / "milkmobs.sqlite3"
    before = SQLiteDatabase(path, migrations=MAIN_MIGRATIONS[:4])  # the schema without the revision column
    SQLiteVideoStore(before, cursor_secret=b"s").add(make_video("old"))
    before.close()

    db = SQLiteDatabase(path)
    try:
        store = SQLiteVideoStore(db, cursor_secret=b"s")
        old = store.get("old")
        assert old.revision == 0 and old == make_video("old")
        stale = store.get("old")
        store.save(old.with_thumbnail("thumbnails/old.jpg", at=T0), expected_status=VideoStatus.PENDING_UPLOAD)
        assert store.get("old").revision == 1
        with pytest.raises(VersionConflictError):
            store.save(stale.transitioned(VideoStatus.FAILED, at=T0), expected_status=VideoStatus.PENDING_UPLOAD)
        assert store.get("old").thumbnail_key == "thumbnails/old.jpg"
    finally:
        db.close()
