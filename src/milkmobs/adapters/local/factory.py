"""The local backend: everything in one data directory, no cloud account needed.

Layout of ``settings.local.data_dir`` (created on first use)::

    milkmobs.sqlite3   videos, mobs, executions, the event log, model usage (WAL mode)
    media/             uploaded videos (vid_<uuid>.mp4) and thumbnails/
    index/             the persisted vector index (vectors-<n>.npy + index.sqlite3); rebuilt from the
                       embeddings stored with the videos when it is empty or deleted
    secret.key         signs upload policies, media URLs and list cursors (mode 0600)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

from milkmobs.adapters.bundle import AdapterSet
from milkmobs.adapters.local.media_folder import LocalMediaStore, load_or_create_secret
from milkmobs.adapters.local.sqlite_claims import SQLiteClaimStore
from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.adapters.local.sqlite_events import SQLiteEventLog
from milkmobs.adapters.local.sqlite_executions import SQLiteExecutionLog
from milkmobs.adapters.local.sqlite_metrics import SQLiteMetrics
from milkmobs.adapters.local.sqlite_mobs import SQLiteMobStore
from milkmobs.adapters.local.sqlite_videos import SQLiteVideoStore
from milkmobs.adapters.local.vector_index import PersistedVectorIndex
from milkmobs.domain import MAX_PAGE_SIZE, ConfigurationError, InvalidInputError, VideoStatus
from milkmobs.ports import Analyzer, Clock, IdGenerator, IndexedVector, MediaProcessor
from milkmobs.settings import Settings

DATABASE_FILE = "milkmobs.sqlite3"
MEDIA_DIR = "media"
INDEX_DIR = "index"
SECRET_FILE = "secret.key"


def build_adapters(settings: Settings, *, clock: Clock, ids: IdGenerator) -> AdapterSet:
    """Open (or create) the data directory and return its adapters; ``closers`` release it.

    ``workflow=None``: the composition root runs the in-process orchestrator over ``executions``.
    ``ids`` is unused (the local adapters mint no ids) but is part of every family's signature.
    """
    data_dir = Path(settings.local.data_dir).expanduser()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot create the data directory {data_dir}: {exc}") from exc
    secret = load_or_create_secret(data_dir / SECRET_FILE)
    media = LocalMediaStore(
        data_dir / MEDIA_DIR, secret=secret, public_base_url=settings.http.public_base_url, clock=clock
    )
    analyzer, processor = _media_adapters(media.path_for, settings)
    db = SQLiteDatabase(data_dir / DATABASE_FILE)
    videos = SQLiteVideoStore(db, cursor_secret=hmac.new(secret, b"cursors", hashlib.sha256).digest())
    try:
        # Several processes may share the folder (milkmobs serve's workers, a CLI command meanwhile).
        index = PersistedVectorIndex(data_dir / INDEX_DIR, analyzer.embedding_dimension)
    except BaseException:
        db.close()
        raise
    try:
        if index.count() == 0:
            rebuild_index(videos, index)
    except BaseException:
        index.close()
        db.close()
        raise
    return AdapterSet(
        videos=videos,
        mobs=SQLiteMobStore(db),
        media=media,
        analyzer=analyzer,
        index=index,
        events=SQLiteEventLog(db, clock=clock),
        metrics=SQLiteMetrics(db, clock=clock),
        claims=SQLiteClaimStore(db),
        workflow=None,
        executions=SQLiteExecutionLog(db),
        media_processor=processor,
        closers=[index.close, db.close],
    )


def rebuild_index(videos: SQLiteVideoStore, index: PersistedVectorIndex, *, batch: int = MAX_PAGE_SIZE) -> int:
    """Put every stored embedding back into ``index`` (each video that is not ``failed``, with its status
    and mob, as the pipeline keeps them); returns how many. Lets a deleted ``index/`` folder be rebuilt."""
    restored = 0
    cursor: str | None = None
    while True:
        page = videos.list_by_status(None, limit=batch, cursor=cursor)
        items = [
            IndexedVector(v.video_id, v.embedding.vector, v.status, v.mob_id)
            for v in page.items
            if v.embedding is not None and v.status is not VideoStatus.FAILED
        ]
        try:
            index.upsert_many(items)
        except InvalidInputError as exc:
            raise ConfigurationError(
                f"stored embeddings do not fit the vector index ({exc.message}); the analyzer's dimension "
                f"changed since they were made: use another data directory"
            ) from exc
        restored += len(items)
        if page.next_cursor is None:
            return restored
        cursor = page.next_cursor


def _media_adapters(resolve_path: Callable[[str], Path], settings: Settings) -> tuple[Analyzer, MediaProcessor]:
    """The LocalAnalyzer and the ffmpeg processor, imported only now: they need the ``media`` extra."""
    try:
        from milkmobs.adapters.local.analyzer import LocalAnalyzer
        from milkmobs.adapters.local.media import FfmpegMediaProcessor
    except ImportError as exc:
        raise ConfigurationError(
            f"the local backend needs the media extra ({exc}); install it with: pip install 'milkmobs[media]'"
        ) from exc
    analyzer = LocalAnalyzer(resolve_path, dimension=settings.models.embedding_dimension)
    wanted = settings.models.embedding_dimension
    if wanted is not None and analyzer.embedding_dimension != wanted:
        raise ConfigurationError(
            f"MILKMOBS_MODELS__EMBEDDING_DIMENSION is {wanted} but the local analyzer makes "
            f"{analyzer.embedding_dimension}-dimensional embeddings; unset it or change it"
        )
    return analyzer, FfmpegMediaProcessor(resolve_path)
