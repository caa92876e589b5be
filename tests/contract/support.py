"""Builders and helpers shared by the contract suites (no adapter knowledge here)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from milkmobs.domain import (
    Embedding,
    Highlight,
    Insights,
    MediaInfo,
    Page,
    ScoreBreakdown,
    ValidationResult,
    Video,
    VideoStatus,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def make_video(
    video_id: str,
    *,
    user_id: str = "user-1",
    created_at: datetime | None = None,
    status: VideoStatus = VideoStatus.PENDING_UPLOAD,
    mob_id: str | None = None,
    hashtags: list[str] | None = None,
    **changes: Any,
) -> Video:
    """A minimal video record (empty hashtags unless given)."""
    created = created_at or T0
    return Video(
        video_id=video_id,
        user_id=user_id,
        media_key=f"vid_{video_id}.mp4",
        status=status,
        mob_id=mob_id,
        hashtags=hashtags or [],
        created_at=created,
        updated_at=created,
        **changes,
    )


def awkward_vector(dimension: int, seed: int = 7) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A unit float32 vector whose values need every bit of float32 (catches lossy storage)."""
    rng = np.random.default_rng(seed)
    vector = rng.standard_normal(dimension).astype(np.float32)
    vector /= np.linalg.norm(vector)
    vector[0] = np.float32(1.0) / np.float32(3.0)  # not exact in decimal or float16
    vector[1] = np.nextafter(np.float32(0.1), np.float32(1.0))
    return vector.astype(np.float32)


def full_video(video_id: str, *, created_at: datetime | None = None, score: float = 0.83) -> Video:
    """A validated video carrying every optional part: media, insights, embedding, validation, mob."""
    created = created_at or T0
    done = created + timedelta(seconds=42.5)
    insights = Insights(
        participation_score=0.9,
        product_shown=True,
        product_mentioned=None,
        action_aligned=True,
        rationale="drinks a glass of milk on a skateboard",
        highlights=[Highlight(start_seconds=0.5, end_seconds=2.25, description="sip")],
        detected_text=["got milk?"],
        on_screen_text=["GOT MILK", "#milkmob"],
        actions=["drinking milk", "skateboarding"],
        objects=["glass", "skateboard"],
        scenes=["street"],
        audio_available=False,
        model_id="pegasus-test",
    )
    validation = ValidationResult(
        video_id=video_id,
        score=score,
        passed=score >= 0.7,
        breakdown=ScoreBreakdown(visual=1.0, audio=None, ocr=0.5, hashtags=1.0),
        reasons=["product shown", "no audio track"],
        campaign="Got Milk",
        validated_at=done,
    )
    return make_video(
        video_id,
        user_id="user-full",
        created_at=created,
        status=VideoStatus.VALIDATED,
        mob_id="mob-1",
        hashtags=["gotmilk", "skate", "ünïcødé"],
        title="Título — 🥛",
        description="a long description: “quotes”, ünïcode, 🥛 and <html> survive",
        declared_size_bytes=123_456,
        uploaded_at=created + timedelta(seconds=1),
        processing_started_at=created + timedelta(seconds=2),
        completed_at=done,
        media=MediaInfo(duration_seconds=12.5, width=720, height=1280, has_audio=False, size_bytes=123_456),
        thumbnail_key=f"thumbnails/{video_id}.jpg",
        insights=insights,
        embedding=Embedding(vector=awkward_vector(512), model_id="marengo-test"),
        validation=validation,
    )


def validation_for(video_id: str, score: float) -> ValidationResult:
    return ValidationResult(
        video_id=video_id,
        score=score,
        passed=score >= 0.7,
        breakdown=ScoreBreakdown(visual=score, audio=score, ocr=score, hashtags=score),
    )


def newest_first(videos: list[Video]) -> list[str]:
    """The ids in the order every list must return them."""
    return [v.video_id for v in sorted(videos, key=lambda v: (v.created_at, v.video_id), reverse=True)]


def collect_pages(fetch: Callable[[str | None], Page[Video]], *, limit: int, max_pages: int = 1000) -> list[str]:
    """Walk every page; check each is full except the last, and that only the last has no cursor."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(max_pages):
        page = fetch(cursor)
        assert len(page.items) <= limit
        if page.next_cursor is not None:
            assert len(page.items) == limit, "only the last page may be short"
        ids.extend(v.video_id for v in page.items)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor
    raise AssertionError(f"paging did not end after {max_pages} pages")


def add_uploaded_video(app: Any) -> str:
    """Store a campaign video's file and an ``uploaded`` record, as start-analysis leaves them; the
    Workflow suite then starts the workflow on it. ``app`` is a ``MilkMobs``."""
    now = app.ports.clock.now()
    video_id: str = app.ports.ids.new_id()
    video = Video(
        video_id=video_id,
        user_id="contract",
        title="Got milk?",
        hashtags=["gotmilk"],
        status=VideoStatus.UPLOADED,
        media_key=f"vid_{video_id}.mp4",
        created_at=now,
        updated_at=now,
        uploaded_at=now,
    )
    app.ports.media.put(video.media_key, b"GOT MILK drinking milk " + video_id.encode())
    app.ports.videos.add(video)
    return video_id


def orchestrator_settler(flow: Any) -> Callable[[str], None]:
    """``settle(video_id)`` for an in-process orchestrator: wait until its workers are idle."""

    def settle(video_id: str) -> None:
        if not flow.wait_idle(timeout=30):
            raise TimeoutError(f"workflow for {video_id} still running after 30 s")

    return settle
