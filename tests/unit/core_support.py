"""Helpers shared by the core's unit, property and end-to-end tests (memory backend)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from milkmobs.adapters.memory import FixedClock, SequentialIdGenerator
from milkmobs.bootstrap import build
from milkmobs.core import pipeline, steps
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import Embedding, Insights, Mob, Video, VideoStatus
from milkmobs.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DIMENSION = 32

#: Bytes the fake analyzer reads as a clear campaign entry: keyword and tag on screen, the product
#: and the action present.
CAMPAIGN_BYTES = b"GOT MILK #gotmilk drinking milk " * 8
#: Bytes with nothing of the campaign in them.
OFF_TOPIC_BYTES = b"a skateboard trick at the park " * 8


def make_app(
    *, dimension: int = DIMENSION, background: bool = False, settings: dict[str, Any] | None = None, **overrides: Any
) -> MilkMobs:
    """A memory-backed app with a stepping clock, sequential ids and no retry/wait sleeping."""
    values: dict[str, Any] = {**(settings or {})}
    values["models"] = {"embedding_dimension": dimension, **values.get("models", {})}
    config = Settings(backend="memory", **values)
    overrides.setdefault("clock", FixedClock(T0, step=timedelta(milliseconds=10)))
    overrides.setdefault("ids", SequentialIdGenerator())
    return build(config, background=background, retry_interval_scale=0.0, wait_scale=0.0, **overrides)


def submit(
    app: MilkMobs,
    *,
    user: str = "u1",
    title: str = "",
    description: str = "",
    hashtags: Iterable[str] = (),
    size: int | None = None,
) -> str:
    request = SubmitRequest(
        user_id=user, title=title, description=description, hashtags=list(hashtags), size_bytes=size
    )
    return app.submit_video(request).video_id


def upload(app: MilkMobs, *, data: bytes = CAMPAIGN_BYTES, **submit_args: Any) -> Video:
    """Submit, upload and (synchronous app) analyse one video; returns the final record. The bytes get
    the video id appended: each test video is its own file (a user's second upload of the same bytes
    is refused as a duplicate)."""
    video_id = submit(app, **submit_args)
    return app.upload_video(video_id, own_file(data, video_id))


def own_file(data: bytes, video_id: str) -> bytes:
    """``data`` made unique to one video (non-empty data only: empty stays empty)."""
    return data + f" {video_id}".encode() if data else data


def unit(vector: Iterable[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(vector, dtype=np.float32)
    return (arr / np.linalg.norm(arr)).astype(np.float32)


def insights(
    *,
    shown: bool = True,
    aligned: bool = True,
    mentioned: bool | None = True,
    audio: bool = True,
    on_screen: Iterable[str] = (),
    detected: Iterable[str] = (),
    actions: Iterable[str] = (),
    scenes: Iterable[str] = (),
) -> Insights:
    return Insights(
        participation_score=0.5,
        product_shown=shown,
        product_mentioned=mentioned,
        action_aligned=aligned,
        on_screen_text=list(on_screen),
        detected_text=list(detected),
        actions=list(actions),
        scenes=list(scenes),
        audio_available=audio,
    )


def put_validated(
    app: MilkMobs,
    vector: np.ndarray,
    *,
    hashtags: Iterable[str] = ("gotmilk",),
    user: str = "u1",
    place: bool = False,
) -> str:
    """A video driven through the real steps with a chosen embedding (bypassing the analyzer),
    validation passed; ``validated`` in a mob with ``place``, else left for ``cluster_video`` to place."""
    video_id = submit(app, user=user, hashtags=hashtags)
    ports = app.ports
    video = ports.videos.get(video_id)
    ports.media.put(video.media_key, CAMPAIGN_BYTES)
    now = ports.clock.now()
    ports.videos.save(
        video.transitioned(VideoStatus.UPLOADED, at=now, uploaded_at=now), expected_status=VideoStatus.PENDING_UPLOAD
    )
    steps.mark_processing(app.context, video_id)
    embedding = Embedding.create(vector, model_id="test", dimension=ports.index.dimension)
    steps.write_results(app.context, video_id, insights(on_screen=["got milk"]), embedding)
    _, result = pipeline.validate_video(ports, app.config, video_id)
    assert result.passed, result.reasons
    if place:
        steps.cluster_video(app.context, video_id)
    return video_id


def all_mobs(app: MilkMobs) -> list[Mob]:
    return app.ports.mobs.list_all()


def all_videos(app: MilkMobs, status: VideoStatus | None = None) -> list[Video]:
    items: list[Video] = []
    cursor: str | None = None
    while True:
        page = app.ports.videos.list_by_status(status, limit=100, cursor=cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items


def snapshot(app: MilkMobs) -> dict[str, Any]:
    """What is stored, in a comparable form: records, mobs, index size, published events."""
    return {
        "videos": [v.model_dump() for v in all_videos(app)],
        "mobs": [(m.model_dump(), m.centroid.tolist()) for m in all_mobs(app)],
        "index": app.ports.index.count(),
        "events": len(app.ports.events.published),  # type: ignore[attr-defined]
        "stats": app.ports.videos.stats().model_dump(),
    }
