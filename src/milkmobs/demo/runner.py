"""Drive a set of clips through the real application: submit, upload, pipeline, then query.

Uploads take the same path as the HTTP API: ``submit_video`` issues a signed upload, the media
store checks and stores the bytes (``accept_upload``), and the object-created event starts the
pipeline. Clips are processed one after another so the incremental mobs do not depend on thread
timing.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SimilarVideos, SubmitRequest, VideoView
from milkmobs.demo.corpus import CorpusVideo
from milkmobs.domain import MAX_PAGE_SIZE, ExecutionRecord, MilkmobsError, Mob, VideoStatus
from milkmobs.ports import ServedMediaStore

DEMO_USER = "demo-user"
_TAG = re.compile(r"#([^\W_][\w]*)", re.UNICODE)


@dataclass(frozen=True)
class Clip:
    """A file to submit, with what a user would type alongside it."""

    path: Path
    title: str
    description: str = ""
    hashtags: tuple[str, ...] = ()
    theme: str | None = None  # known for the generated corpus only
    campaign_entry: bool | None = None

    @classmethod
    def from_corpus(cls, video: CorpusVideo) -> Clip:
        return cls(video.path, video.title, video.description, tuple(video.hashtags), video.theme, video.campaign_entry)

    @classmethod
    def from_file(cls, path: Path) -> Clip:
        """A user's file: its name is the title; ``#words`` in the name become hashtags."""
        return cls(path, path.stem, "", tuple(_TAG.findall(path.stem)))


@dataclass
class ClipOutcome:
    """What became of one clip."""

    clip: Clip
    video_id: str | None
    view: VideoView | None = None
    error: str | None = None
    seconds: float = 0.0
    execution: ExecutionRecord | None = None
    recognised: bool = False  # analysed by an earlier run (same bytes), not submitted again

    @property
    def status(self) -> str:
        return self.view.status.value if self.view else "failed"


@dataclass
class DemoResult:
    """Everything the demo prints."""

    data_dir: Path
    outcomes: list[ClipOutcome]
    mobs: list[Mob]
    similar: SimilarVideos | None = None
    search_query: str | None = None
    search: SimilarVideos | None = None
    plot_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    reset_videos: int = 0  # videos of earlier runs deleted first (--reset)

    @property
    def recognised(self) -> int:
        """Clips an earlier run had analysed (same bytes): kept, not submitted again."""
        return sum(o.recognised for o in self.outcomes)


def submit_clip(app: MilkMobs, clip: Clip) -> ClipOutcome:
    """Submit, upload and analyse one clip (the pipeline runs before this returns)."""
    started = time.perf_counter()
    data = clip.path.read_bytes()
    request = SubmitRequest(
        user_id=DEMO_USER,
        title=clip.title,
        description=clip.description,
        hashtags=list(clip.hashtags),
        content_type="video/mp4",
        size_bytes=len(data),
    )
    try:
        submission = app.submit_video(request)
    except MilkmobsError as exc:  # e.g. a file above the configured size limit
        return ClipOutcome(clip, None, error=exc.message, seconds=time.perf_counter() - started)
    video_id = submission.video_id
    media = app.ports.media
    try:
        if isinstance(media, ServedMediaStore):
            key = media.accept_upload(submission.upload.fields, data)
            app.on_object_created(key, len(data))
        else:
            app.upload_video(video_id, data)
    except MilkmobsError as exc:
        return ClipOutcome(
            clip, video_id, view=app.get_video(video_id), error=exc.message, seconds=time.perf_counter() - started
        )
    view = app.get_video(video_id)
    history = app.execution_history(video_id)
    outcome = ClipOutcome(
        clip, video_id, view=view, seconds=time.perf_counter() - started, execution=history[-1] if history else None
    )
    if view.status is VideoStatus.FAILED and view.failure is not None:
        outcome.error = f"{view.failure.step}: {view.failure.error}"
    return outcome


def demo_videos_by_content(app: MilkMobs) -> dict[str, list[VideoView]]:
    """The demo user's stored videos by the SHA-256 of their uploaded bytes, newest first."""
    by_content: dict[str, list[VideoView]] = {}
    cursor: str | None = None
    while True:
        page = app.list_user_videos(DEMO_USER, limit=MAX_PAGE_SIZE, cursor=cursor)
        for video in page.items:
            if video.content_sha256 is not None:
                by_content.setdefault(video.content_sha256, []).append(video)
        if page.next_cursor is None:
            return by_content
        cursor = page.next_cursor


def forget_demo_videos(app: MilkMobs) -> int:
    """Delete every video the demo submitted (``--reset``); returns how many. Other users' videos stay."""
    deleted = 0
    while True:  # always the first page: each round deletes what it read
        page = app.list_user_videos(DEMO_USER, limit=MAX_PAGE_SIZE)
        if not page.items:
            return deleted
        for video in page.items:
            app.delete_video(video.video_id)
            deleted += 1


def _recognised(app: MilkMobs, clip: Clip, earlier: list[VideoView]) -> ClipOutcome | None:
    """The outcome of an earlier run for the same bytes, if it finished; other copies are deleted
    (an unfinished or failed one is analysed again, and copies a re-run once made go away)."""
    finished = [v for v in earlier if v.status in (VideoStatus.VALIDATED, VideoStatus.REJECTED)]
    keep = finished[0] if finished else None
    for video in earlier:
        if video is not keep:
            app.delete_video(video.video_id)
    if keep is None:
        return None
    history = app.execution_history(keep.video_id)
    return ClipOutcome(clip, keep.video_id, view=keep, execution=history[0] if history else None, recognised=True)


def run_clips(
    app: MilkMobs, clips: Sequence[Clip], *, on_done: Callable[[ClipOutcome], None] | None = None
) -> list[ClipOutcome]:
    """Every clip through the pipeline, in order; ``on_done`` is told after each. A clip whose bytes
    the demo already analysed (an earlier run) is recognised by its content hash, not submitted again."""
    known = demo_videos_by_content(app)
    outcomes = []
    for clip in clips:
        digest = hashlib.sha256(clip.path.read_bytes()).hexdigest()
        outcome = _recognised(app, clip, known.pop(digest, []))
        if outcome is None:
            outcome = submit_clip(app, clip)
        if outcome.view is not None:
            known[digest] = [outcome.view]  # the same file twice in one folder is one video
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    # Mob names and sizes change as members join: show each video with its mob as it is now.
    for outcome in outcomes:
        if outcome.video_id is not None:
            outcome.view = app.get_video(outcome.video_id)
    return outcomes


def query(app: MilkMobs, outcomes: Sequence[ClipOutcome], text: str) -> tuple[SimilarVideos | None, SimilarVideos]:
    """A similar-video query from the first validated clip, and a text query."""
    first = next((o for o in outcomes if o.view is not None and o.view.status is VideoStatus.VALIDATED), None)
    similar = app.similar_videos(first.view.video_id, limit=5) if first and first.view else None
    return similar, app.search_text(text, limit=5)


def step_seconds(outcomes: Sequence[ClipOutcome]) -> dict[str, list[float]]:
    """Per pipeline step, the seconds each video spent in it (from the execution history)."""
    per_step: dict[str, list[float]] = {}
    for outcome in outcomes:
        if outcome.execution is None:
            continue
        for step in outcome.execution.steps:
            if step.ended_at is not None:
                per_step.setdefault(step.name, []).append((step.ended_at - step.started_at).total_seconds())
    return per_step
