"""The local backend survives a restart: build the app on a data directory, process real videos,
close it, build it again on the same directory — same videos, mobs, search results, history,
events, and the URLs and cursors handed out before still work."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np
import pytest

pytest.importorskip("av")
pytest.importorskip("rapidocr")

from milkmobs.adapters.inprocess import InProcessOrchestrator
from milkmobs.adapters.local.factory import build_adapters
from milkmobs.adapters.local.media_folder import LocalMediaStore
from milkmobs.adapters.local.sqlite_events import SQLiteEventLog
from milkmobs.adapters.memory import FakeAnalyzer, FakeMediaProcessor, FixedClock, SequentialIdGenerator
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest
from milkmobs.demo.corpus import THEMES, CorpusVideo, generate_corpus
from milkmobs.domain import ConfigurationError, VideoStatus
from milkmobs.settings import Backend, Settings


@dataclass
class Snapshot:
    """Everything a user could observe of the app, minus freshly signed URLs."""

    videos: dict[str, Any]
    mobs: list[Any]
    similar: dict[str, list[tuple[str, float]]]
    text_search: list[str]
    stats: Any
    history: dict[str, list[Any]]
    events: list[Any]
    user_page: list[str]


def _settings(data_dir: Path, embedding_dimension: int | None = None) -> Settings:
    return Settings(
        backend=Backend.LOCAL,
        local={"data_dir": data_dir, "workers": 2},
        models={"embedding_dimension": embedding_dimension},
    )


def _snapshot(app: MilkMobs, ids: list[str], *, user_id: str = "restart-user") -> Snapshot:
    validated = [v for v in ids if app.ports.videos.get(v).status is VideoStatus.VALIDATED]
    events = app.ports.events
    assert isinstance(events, SQLiteEventLog)
    return Snapshot(
        videos={v: app.ports.videos.get(v) for v in ids},
        mobs=app.list_mobs(),
        similar={v: [(r.video.video_id, round(r.score, 5)) for r in app.similar_videos(v).results] for v in validated},
        text_search=[r.video.video_id for r in app.search_text("got milk sunset").results],
        stats=app.stats(),
        history={v: app.execution_history(v) for v in ids},
        events=events.published(),
        user_page=[v.video_id for v in app.list_user_videos(user_id, limit=50).items],
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusVideo]:
    return generate_corpus(tmp_path_factory.mktemp("clips"), themes=THEMES[:2], seconds=1.0)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def _submit(app: MilkMobs, clip: CorpusVideo) -> str:
    submission = app.submit_video(
        SubmitRequest(user_id="restart-user", title=clip.title, description=clip.description, hashtags=clip.hashtags)
    )
    app.upload_video(submission.video_id, clip.path.read_bytes())
    return submission.video_id


def test_a_restart_keeps_videos_mobs_search_history_and_urls(clips: list[CorpusVideo], data_dir: Path) -> None:
    with build(_settings(data_dir), retry_interval_scale=0) as app:
        # both themes, captioned and tagged clips and an uncaptioned one; clips[1] comes after the restart
        ids = [_submit(app, clips[i]) for i in (0, 3, 4, 5)]
        before = _snapshot(app, ids)
        first_page = app.list_user_videos("restart-user", limit=2)
        url = app.get_video(ids[0]).video_url
    assert before.mobs and before.similar and before.events, "the corpus should validate and cluster something"
    assert all(v.status in {VideoStatus.VALIDATED, VideoStatus.REJECTED} for v in before.videos.values())

    with build(_settings(data_dir), retry_interval_scale=0) as app:
        assert _snapshot(app, ids) == before
        # a cursor and a signed media URL handed out before the restart still work
        assert first_page.next_cursor is not None
        rest = app.list_user_videos("restart-user", limit=50, cursor=first_page.next_cursor)
        assert [v.video_id for v in first_page.items + rest.items] == before.user_page
        assert url is not None
        parts = urlsplit(url)
        media = app.ports.media
        assert isinstance(media, LocalMediaStore)
        assert media.open_signed(unquote(parts.path.removeprefix("/media/")), dict(parse_qsl(parts.query))) == (
            clips[0].path.read_bytes()
        )
        # and the reopened index and stores keep working: one more video joins them
        new_id = _submit(app, clips[1])
        after = _snapshot(app, [*ids, new_id])
        assert after.videos[new_id].status in {VideoStatus.VALIDATED, VideoStatus.REJECTED}
        assert after.stats.total_videos == before.stats.total_videos + 1
        assert sum(m.video_count for m in after.mobs) == after.stats.by_status.get("validated", 0)


def test_a_data_directory_keeps_its_embedding_dimension(clips: list[CorpusVideo], data_dir: Path) -> None:
    with build(_settings(data_dir), retry_interval_scale=0) as app:
        dimension = app.ports.analyzer.embedding_dimension
    with pytest.raises(ConfigurationError, match="dimension"):
        build(_settings(data_dir, embedding_dimension=dimension // 2))
    with build(_settings(data_dir), retry_interval_scale=0) as app:  # the failed build released everything
        assert app.ports.index.dimension == dimension


def test_the_factory_lays_out_the_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    adapters = build_adapters(_settings(data_dir), clock=FixedClock(), ids=SequentialIdGenerator())
    try:
        assert (data_dir / "milkmobs.sqlite3").is_file() and (data_dir / "media").is_dir()
        assert (data_dir / "index").is_dir() and (data_dir / "secret.key").stat().st_mode & 0o077 == 0
        assert adapters.workflow is None and adapters.executions is not None
        assert adapters.index.dimension == adapters.analyzer.embedding_dimension
    finally:
        for close in adapters.closers:
            close()


def test_without_the_media_extra_the_factory_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "milkmobs.adapters.local.analyzer", None)  # import now fails
    with pytest.raises(ConfigurationError, match=r"milkmobs\[media\]"):
        build_adapters(_settings(tmp_path / "data"), clock=FixedClock(), ids=SequentialIdGenerator())


def test_concurrent_uploads_through_background_workers_stay_consistent_across_a_restart(tmp_path: Path) -> None:
    """API threads submitting while pipeline workers write: every video finishes, counts add up."""
    data_dir = tmp_path / "data"
    fakes: dict[str, Any] = {
        "analyzer": lambda adapters: FakeAnalyzer(adapters.media, dimension=32),
        "media_processor": lambda adapters: FakeMediaProcessor(adapters.media),
    }
    settings = _settings(data_dir, embedding_dimension=32)
    with build(settings, background=True, retry_interval_scale=0, wait_scale=0, **fakes) as app:

        def submit(worker: int) -> list[str]:
            ids = []
            for i in range(6):
                entry = i % 3 != 0  # two in three take part in the campaign, the rest should be rejected
                sub = app.submit_video(
                    SubmitRequest(
                        user_id=f"user-{worker}",
                        title="Got milk?" if entry else "My cat",
                        hashtags=["gotmilk", "milkmob"] if entry else ["cats"],
                    )
                )
                content = b"GOT MILK drinking milk " if entry else b"a cat asleep on a sofa "
                app.upload_video(sub.video_id, content + f"{worker}-{i}".encode() * 50)
                ids.append(sub.video_id)
            return ids

        with ThreadPoolExecutor(4) as pool:
            ids = [video_id for batch in pool.map(submit, range(4)) for video_id in batch]
        flow = app.workflow
        assert isinstance(flow, InProcessOrchestrator) and flow.wait_idle(timeout=60)
        before = _snapshot(app, ids, user_id="user-0")
    stats = before.stats
    assert stats.total_videos == 24 and stats.by_status.get("failed", 0) == 0
    assert stats.by_status.get("validated", 0) > 0 and stats.by_status.get("rejected", 0) > 0
    assert sum(stats.by_status.values()) == 24
    assert sum(m.video_count for m in before.mobs) == stats.by_status.get("validated", 0)
    assert all(len(history) == 1 for history in before.history.values())  # one execution per video
    assert len(before.events) == 24  # one VideoAnalyzed per finished video, none lost
    with build(settings, background=True, retry_interval_scale=0, wait_scale=0, **fakes) as app:
        assert _snapshot(app, ids, user_id="user-0") == before


def test_a_deleted_index_folder_is_rebuilt_from_the_stored_embeddings(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fakes: dict[str, Any] = {
        "analyzer": lambda adapters: FakeAnalyzer(adapters.media, dimension=32),
        "media_processor": lambda adapters: FakeMediaProcessor(adapters.media),
    }
    settings = _settings(data_dir, embedding_dimension=32)
    with build(settings, retry_interval_scale=0, **fakes) as app:
        ids = []
        for i in range(6):
            entry = i % 3 != 0
            sub = app.submit_video(
                SubmitRequest(user_id="restart-user", hashtags=["gotmilk", "milkmob"] if entry else ["cats"])
            )
            content = b"GOT MILK drinking milk " if entry else b"a cat asleep on a sofa "
            app.upload_video(sub.video_id, content + str(i).encode() * 40)
            ids.append(sub.video_id)
        before = _snapshot(app, ids)
        vectors = {v: app.ports.index.get_vector(v) for v in ids}
    shutil.rmtree(data_dir / "index")
    with build(settings, retry_interval_scale=0, **fakes) as app:
        assert app.ports.index.count() == len(ids)
        assert all(np.array_equal(app.ports.index.get_vector(v), vectors[v]) for v in ids)  # type: ignore[arg-type]
        assert _snapshot(app, ids) == before  # same similar-video answers, filters included


def test_a_second_app_on_a_served_data_directory_reads_and_analyses(tmp_path: Path) -> None:
    """`milkmobs status`/`submit` while `milkmobs serve` runs: both processes read and write the same
    stores and vector index, and each sees the other's videos."""
    fakes: dict[str, Any] = {
        "analyzer": lambda adapters: FakeAnalyzer(adapters.media, dimension=32),
        "media_processor": lambda adapters: FakeMediaProcessor(adapters.media),
    }
    settings = _settings(tmp_path / "data", embedding_dimension=32)
    with build(settings, retry_interval_scale=0, wait_scale=0, **fakes) as owner:
        ids = []
        for i in range(4):
            sub = owner.submit_video(SubmitRequest(user_id="restart-user", hashtags=["gotmilk", "milkmob"]))
            owner.upload_video(sub.video_id, b"GOT MILK drinking milk " + str(i).encode() * 40)
            ids.append(sub.video_id)
        with build(settings, retry_interval_scale=0, wait_scale=0, **fakes) as other:
            assert _snapshot(other, ids) == _snapshot(owner, ids)
            late = other.submit_video(SubmitRequest(user_id="restart-user", hashtags=["gotmilk", "milkmob"]))
            video = other.upload_video(late.video_id, b"GOT MILK drinking milk late")
            assert video.status is VideoStatus.VALIDATED, video.failure
        assert owner.ports.index.count() == len(ids) + 1
        assert late.video_id in [r.video.video_id for r in owner.similar_videos(ids[0], limit=10).results]
