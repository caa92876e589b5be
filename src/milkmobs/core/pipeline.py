"""The pipeline steps: each one reads the video, does one thing, writes it back guarded by status and
revision. A save that lost to a concurrent writer (generate-thumbnail, a re-clustering, the sweep)
is computed again from a fresh read (``core/optimistic.py``), so neither write is lost.

Every step is safe to retry: re-running a step that already succeeded either repeats the same write
or notices the work is done. Model usage goes to ``Metrics`` as soon as a model answered, so a
failure in a later step never loses what was billed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from milkmobs.core.config import CoreConfig
from milkmobs.core.mobs import cluster_video, leave_mob
from milkmobs.core.optimistic import update_video
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.validation import score_video
from milkmobs.domain import (
    BackendUnavailableError,
    ConflictError,
    Embedding,
    Insights,
    MediaInfo,
    ModelUsage,
    PayloadTooLargeError,
    ValidationResult,
    Video,
    VideoAnalyzed,
    VideoStatus,
)
from milkmobs.ports import AsyncVideoEmbedder, EmbeddingJob, IndexedVector

log = logging.getLogger(__name__)


def record_usage(ports: CorePorts, usage: Sequence[ModelUsage]) -> None:
    """Timestamp and record model usage. A metrics outage is logged, not raised: the model call
    already happened and was billed, so failing the step (and calling the model again) is worse."""
    if not usage:
        return
    now = ports.clock.now()
    stamped = [u.stamped(now) for u in usage]
    try:
        ports.metrics.record_usage(stamped)
    except BackendUnavailableError as exc:
        log.warning("model usage of %s could not be recorded: %s", [u.model_id for u in stamped], exc)


def require_status(video: Video, *allowed: VideoStatus, step: str) -> None:
    """ConflictError naming the video, its status and the step unless the status is allowed."""
    if video.status not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise ConflictError(
            f"video {video.video_id} is {video.status.value}; {step} needs it {wanted}", video_id=video.video_id
        )


#: Statuses a video reaches once ``mark_processing`` has run: a repeat of that step is a no-op.
_ANALYSED_OR_ANALYSING = (VideoStatus.PROCESSING, VideoStatus.VALIDATED, VideoStatus.REJECTED)


def mark_processing(ports: CorePorts, video_id: str, *, max_video_seconds: float | None = None) -> Video:
    """uploaded → processing (a repeat on a video already past it is a no-op, so a resumed workflow
    runs on). Probes the file when a media processor is configured, so an undecodable upload fails
    here with a MediaError, and one longer than ``max_video_seconds`` with a PayloadTooLargeError
    naming the limit (the analysis' timeouts are derived for that length, milkmobs.core.limits)."""
    probed: list[MediaInfo | None] = []  # the pinned file does not change: probed once, whatever the tries

    def start(video: Video) -> Video | None:
        if video.status in _ANALYSED_OR_ANALYSING:
            return None
        require_status(video, VideoStatus.UPLOADED, step="mark processing")
        if not probed:
            probed.append(ports.media_processor.probe(video) if ports.media_processor is not None else None)
        media = probed[0]
        if media is not None and max_video_seconds is not None and media.duration_seconds > max_video_seconds:
            raise PayloadTooLargeError(
                f"video {video_id} is {media.duration_seconds:.1f} s long; the longest accepted is "
                f"{max_video_seconds:g} s (MILKMOBS_UPLOADS__MAX_VIDEO_SECONDS): upload a shorter cut",
                field="duration",
                video_id=video_id,
            )
        return video.processing_started(at=ports.clock.now(), media=media)

    return update_video(ports, video_id, start).record


def describe_video(ports: CorePorts, config: CoreConfig, video_id: str) -> Insights:
    """Pegasus branch: the insights of a processing video (the stored ones when a resumed workflow
    runs it again after they were written: the model is not billed twice)."""
    video = ports.videos.get(video_id)
    require_status(video, *_ANALYSED_OR_ANALYSING, step="the Pegasus analysis")
    if video.insights is not None:
        return video.insights
    output = ports.analyzer.describe_video(video, config.campaign)
    record_usage(ports, output.usage)
    return output.value


def checked_embedding(ports: CorePorts, embedding: Embedding) -> Embedding:
    """Unit length and the index's dimension (InvalidInputError otherwise, nothing written)."""
    return Embedding.create(embedding.vector, model_id=embedding.model_id, dimension=ports.index.dimension)


def embed_video(ports: CorePorts, video_id: str) -> Embedding:
    """Marengo branch, blocking (the stored embedding when it was already written)."""
    stored = stored_embedding(ports, video_id)
    if stored is not None:
        return stored
    video = ports.videos.get(video_id)
    output = ports.analyzer.embed_video(video)
    record_usage(ports, output.usage)
    return checked_embedding(ports, output.value)


def stored_embedding(ports: CorePorts, video_id: str) -> Embedding | None:
    """The embedding a resumed workflow already wrote (None while there is none); ConflictError
    for a video the embedding steps may not run on."""
    video = ports.videos.get(video_id)
    require_status(video, *_ANALYSED_OR_ANALYSING, step="the Marengo embedding")
    return video.embedding


def start_embedding_job(ports: CorePorts, video_id: str) -> EmbeddingJob:
    """Start an asynchronous embedding job (only for analyzers that implement AsyncVideoEmbedder)."""
    video = ports.videos.get(video_id)
    require_status(video, VideoStatus.PROCESSING, step="the Marengo embedding")
    analyzer = ports.analyzer
    if not isinstance(analyzer, AsyncVideoEmbedder):
        raise ConflictError(f"the analyzer {type(analyzer).__name__} has no asynchronous embedding jobs")
    return analyzer.start_video_embedding(video)


def check_embedding_job(ports: CorePorts, job: EmbeddingJob) -> Embedding | None:
    """The job's embedding once done (usage recorded then), None while it runs."""
    analyzer = ports.analyzer
    if not isinstance(analyzer, AsyncVideoEmbedder):
        raise ConflictError(f"the analyzer {type(analyzer).__name__} has no asynchronous embedding jobs")
    video = ports.videos.get(job.video_id)
    output = analyzer.check_video_embedding(job, video)
    if output is None:
        return None
    record_usage(ports, output.usage)
    return checked_embedding(ports, output.value)


def write_results(ports: CorePorts, video_id: str, insights: Insights, embedding: Embedding) -> Video:
    """Insights and embedding onto the record, then the vector into the index (status processing).
    The dimension is checked before anything is written. On a video already validated or rejected
    (a resumed workflow) the results are in place: nothing is written."""
    embedding = checked_embedding(ports, embedding)

    def store(video: Video) -> Video | None:
        require_status(video, *_ANALYSED_OR_ANALYSING, step="writing the analysis results")
        if video.status is not VideoStatus.PROCESSING:
            return None
        return video.analysed(insights, embedding, at=ports.clock.now())

    saved = update_video(ports, video_id, store)
    if saved.written:
        ports.index.upsert(IndexedVector(video_id, embedding.vector, status=VideoStatus.PROCESSING))
    return saved.record


def validate_video(ports: CorePorts, config: CoreConfig, video_id: str) -> tuple[Video, ValidationResult]:
    """Score the stored insights and store the result. A failing video becomes ``rejected`` (leaving
    its mob, if it had one, in the same record write); a passing one keeps its status until
    clustering places it in a mob and makes it ``validated`` in one write — so a ``validated``
    video always has its mob. Re-running it (a resumed workflow, POST /validate) scores again.
    Returns the saved video and the result."""
    results: list[ValidationResult] = []  # the one scored on the record that was saved: the last

    def score(video: Video) -> Video:
        require_status(video, *_ANALYSED_OR_ANALYSING, step="validation")
        if video.insights is None:
            raise ConflictError(
                f"video {video_id} has no stored insights; run the analysis before validating", video_id=video_id
            )
        now = ports.clock.now()
        result = score_video(video_id, video.insights, video.hashtags, config.campaign, at=now)
        results.append(result)
        if result.passed or video.status is VideoStatus.REJECTED:
            return video.with_validation(result, at=now)
        return video.rejected(result, at=now)

    saved = update_video(ports, video_id, score)
    video, updated, result = saved.before, saved.record, results[-1]
    vector = updated.embedding.vector if updated.embedding is not None else None
    if vector is not None:
        ports.index.upsert(IndexedVector(video_id, vector, updated.status, updated.mob_id))
    if video.mob_id is not None and updated.mob_id is None:
        leave_mob(ports, video.mob_id, vector)  # the record said so first; counts follow records
    return updated, result


def revalidate(ports: CorePorts, config: CoreConfig, video_id: str) -> ValidationResult:
    """Validate, then place a passing video in a mob (POST /validate, and the facade's one-call
    validation). A video that no longer passes leaves its mob, and so the mob pages and the feed."""
    video, result = validate_video(ports, config, video_id)
    if result.passed:
        cluster_video(ports, config, video.video_id)
    return result


def analyzed_event(video: Video) -> VideoAnalyzed:
    """The ``VideoAnalyzed`` event of a validated or rejected video (ConflictError otherwise)."""
    require_status(video, VideoStatus.VALIDATED, VideoStatus.REJECTED, step="the VideoAnalyzed event")
    return VideoAnalyzed(
        video_id=video.video_id,
        status=video.status,
        participation_score=video.insights.participation_score if video.insights else None,
        validation_score=video.validation.score if video.validation else None,
        mob_id=video.mob_id,
    )


def emit_analyzed(ports: CorePorts, video_id: str) -> VideoAnalyzed:
    """Publish ``VideoAnalyzed`` from the stored record (what it says is what is stored)."""
    event = analyzed_event(ports.videos.get(video_id))
    ports.events.publish([event])
    return event


def mark_failed(ports: CorePorts, video_id: str, *, step: str, error: str, error_type: str = "") -> Video:
    """Record the failing step and error; status ``failed``. The video then leaves the vector index
    and its mob, so search and mob pages never show it.

    Order: the record first (the truth users see; it keeps ``mob_id`` for now), then the index, then
    the mob, and last ``mob_id`` is cleared. If a later step fails, repeating the call finishes the
    clean-up; once done, repeating it changes nothing. (A crash between the mob's count and the
    cleared ``mob_id`` makes the repeat take the count twice: the start-up recovery reconciles
    counts from members after resuming.)
    """

    def fail(video: Video) -> Video | None:
        if video.status is VideoStatus.FAILED:
            return None
        return video.failed_at(step, error or "unknown error", at=ports.clock.now(), error_type=error_type)

    return _leave_derived_data(ports, update_video(ports, video_id, fail).record)


def _leave_derived_data(ports: CorePorts, video: Video) -> Video:
    """Take a failed video out of the index and its mob (idempotent)."""
    ports.index.delete(video.video_id)
    if video.mob_id is None:
        return video
    mob_id = video.mob_id
    vector = video.embedding.vector if video.embedding is not None else None
    leave_mob(ports, mob_id, vector)

    def clear(current: Video) -> Video | None:
        if current.status is not VideoStatus.FAILED or current.mob_id != mob_id:
            return None  # a repeat of this clean-up got there first
        return current.left_mob(at=ports.clock.now())

    return update_video(ports, video.video_id, clear, first=video).record


__all__ = [
    "analyzed_event",
    "check_embedding_job",
    "describe_video",
    "embed_video",
    "emit_analyzed",
    "mark_failed",
    "mark_processing",
    "record_usage",
    "revalidate",
    "start_embedding_job",
    "stored_embedding",
    "validate_video",
    "write_results",
]
