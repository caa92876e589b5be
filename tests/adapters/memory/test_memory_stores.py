"""Memory-specific behaviour: thread safety, upload expiry on a fixed clock, versions, the factory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest

from milkmobs.adapters.memory import (
    FakeAnalyzer,
    FakeMediaProcessor,
    FixedClock,
    InMemoryMediaStore,
    InMemoryMobStore,
    InMemoryVectorIndex,
    InMemoryVideoStore,
    SequentialIdGenerator,
    build_adapters,
)
from milkmobs.domain import ConflictError, ForbiddenError, InvalidInputError, Mob, Video, VideoStatus
from milkmobs.ports import IndexedVector
from milkmobs.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _in_threads(work: Callable[[int], None], threads: int = 8) -> None:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            work(n)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not errors, errors


def _mob(count: int = 0) -> Mob:
    return Mob(
        mob_id="m", name="m", centroid=np.ones(4, dtype=np.float32) / 2, video_count=count, created_at=T0, updated_at=T0
    )


def test_concurrent_count_adjustments_are_not_lost() -> None:
    store = InMemoryMobStore()
    store.add(_mob())
    _in_threads(lambda n: [store.adjust_count("m", 1) for _ in range(200)])
    assert store.get("m").video_count == 1600


def test_of_racing_saves_with_one_version_exactly_one_wins() -> None:
    store = InMemoryMobStore()
    store.add(_mob())
    wins: list[int] = []
    conflicts: list[int] = []

    def save(n: int) -> None:
        try:
            store.save(_mob().model_copy(update={"name": f"writer {n}"}), expected_version=0)
            wins.append(n)
        except ConflictError:
            conflicts.append(n)

    _in_threads(save)
    assert len(wins) == 1 and len(conflicts) == 7
    assert store.get("m").name == f"writer {wins[0]}" and store.get("m").version == 1


def test_concurrent_adds_and_status_saves_keep_lists_and_stats_consistent() -> None:
    store = InMemoryVideoStore()

    def work(n: int) -> None:
        for i in range(50):
            video = Video(
                video_id=f"{n}-{i}", user_id=f"u{n}", media_key="k", created_at=T0 + timedelta(seconds=i), updated_at=T0
            )
            store.add(video)
            store.save(video.transitioned(VideoStatus.UPLOADED, at=T0), expected_status=VideoStatus.PENDING_UPLOAD)

    _in_threads(work)
    stats = store.stats()
    assert stats.total_videos == 400 and stats.by_status == {"uploaded": 400}
    assert len(store.list_by_status(VideoStatus.UPLOADED, limit=1000).items) == 400


def test_concurrent_upserts_and_deletes_leave_a_consistent_index() -> None:
    index = InMemoryVectorIndex(8, initial_capacity=1)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((8, 100, 8)).astype(np.float32)

    def work(n: int) -> None:
        for i in range(100):
            index.upsert(IndexedVector(video_id=f"{n}-{i}", vector=vectors[n, i], status="validated"))
            if i % 2:
                assert index.delete(f"{n}-{i - 1}")

    _in_threads(work)
    assert index.count() == 400
    for n in range(8):
        got = index.get_vector(f"{n}-99")
        assert got is not None and np.array_equal(got, vectors[n, 99])
    assert len(index.search(vectors[0, 1], k=500)) == 400


def test_the_index_refuses_zero_vectors_and_bad_k() -> None:
    index = InMemoryVectorIndex(3)
    with pytest.raises(InvalidInputError):
        index.upsert(IndexedVector(video_id="z", vector=np.zeros(3, dtype=np.float32), status="validated"))
    with pytest.raises(InvalidInputError):
        index.search(np.ones(3, dtype=np.float32), k=0)
    with pytest.raises(InvalidInputError):
        InMemoryVectorIndex(0)


def test_uploads_and_links_expire_on_the_clock() -> None:
    clock = FixedClock(T0)
    store = InMemoryMediaStore(base_url="http://host:1/", clock=clock)
    ticket = store.create_upload("vid_a.mp4", content_type="video/mp4", max_bytes=10, expires_in=60)
    assert ticket.url == "http://host:1/uploads" and ticket.expires_at == T0 + timedelta(seconds=60)
    store.put("vid_b.mp4", b"b")
    url = store.read_url("vid_b.mp4", expires_in=30)
    assert url.startswith("http://host:1/media/vid_b.mp4?")
    params = dict(parse_qsl(urlsplit(url).query))
    clock.advance(30)
    assert store.open_signed("vid_b.mp4", params) == b"b"
    clock.advance(1)
    with pytest.raises(ForbiddenError, match="expired"):
        store.open_signed("vid_b.mp4", params)
    store.accept_upload(ticket.fields, b"in time")
    clock.advance(30)
    with pytest.raises(ForbiddenError, match="expired"):
        store.accept_upload(ticket.fields, b"too late")
    assert store.get("vid_a.mp4") == b"in time"


def test_every_put_is_a_version_and_delete_drops_them_all() -> None:
    store = InMemoryMediaStore(base_url="http://x", clock=FixedClock())
    for n in range(3):
        store.put("k", bytes([n]), content_type="video/mp4")
    assert store.version_count("k") == 3 and store.get("k") == b"\x02"
    assert store.content_type("k") == "video/mp4"
    assert store.uri("k") == "memory://media/k"
    store.delete("k")
    assert store.version_count("k") == 0


def test_signed_cursors_from_another_store_are_refused() -> None:
    one, two = InMemoryVideoStore(), InMemoryVideoStore()
    for store in (one, two):
        for i in range(3):
            store.add(Video(video_id=f"v{i}", user_id="u", media_key="k", created_at=T0, updated_at=T0))
    cursor = one.list_by_user("u", limit=1).next_cursor
    with pytest.raises(InvalidInputError):
        two.list_by_user("u", limit=1, cursor=cursor)
    shared = b"s" * 32
    three, four = InMemoryVideoStore(cursor_secret=shared), InMemoryVideoStore(cursor_secret=shared)
    for store in (three, four):
        store.add(Video(video_id="a", user_id="u", media_key="k", created_at=T0, updated_at=T0))
        store.add(Video(video_id="b", user_id="u", media_key="k", created_at=T0, updated_at=T0))
    assert [
        v.video_id for v in four.list_by_user("u", limit=1, cursor=three.list_by_user("u", limit=1).next_cursor).items
    ] == ["a"]
    with pytest.raises(InvalidInputError, match="limit"):
        one.list_by_user("u", limit=0)


def test_build_adapters_follows_the_settings() -> None:
    settings = Settings(
        models={"embedding_dimension": 48, "pegasus_model_id": "p", "marengo_model_id": "m"},
        http={"public_base_url": "http://demo:9000"},
    )
    adapters = build_adapters(settings, clock=FixedClock(), ids=SequentialIdGenerator())
    assert adapters.index.dimension == 48 and adapters.analyzer.embedding_dimension == 48
    # Bedrock's model ids are for Bedrock: the fake reports its usage under its own.
    model_ids = (adapters.analyzer.insights_model_id, adapters.analyzer.embedding_model_id)
    assert model_ids == ("fake.pegasus", "fake.marengo")
    assert isinstance(adapters.analyzer, FakeAnalyzer)
    assert isinstance(adapters.media_processor, FakeMediaProcessor)
    assert adapters.workflow is None and adapters.executions is not None
    ticket = adapters.media.create_upload("vid_x.mp4", content_type="video/mp4", max_bytes=5, expires_in=5)
    assert ticket.url == "http://demo:9000/uploads"
    default = build_adapters(
        Settings(models={"embedding_dimension": None}), clock=FixedClock(), ids=SequentialIdGenerator()
    )
    assert default.index.dimension == 512 == default.analyzer.embedding_dimension
