"""The workflow's steps, and one step-runner table for both runners of the workflow.

Each step is a typed function on a :class:`StepContext` (``mark_processing(ctx, video_id)``,
``describe_video``, ``embed_video``, ``start_embedding_job``, ``check_embedding_job``,
``write_results``, ``validate_video``, ``cluster_video``, ``emit_analyzed``, ``mark_failed``): what
a test or a notebook calls to run one step by itself. They are not the ``MilkMobs`` facade's: its
surface is the use cases.

``STEP_HANDLERS[name](context, state) -> state`` runs the step named ``name`` (the ``handler`` of a
``core.workflow`` step, which is also the seed's Lambda function name) on the state machine's JSON
(camelCase). The AWS Lambda entry points are one line each —
``return STEP_HANDLERS["analysis-pegasus"](context, event)`` — and the in-process orchestrator calls
the same functions, so both runners execute exactly the same code. A step needs only the ports and
the core's configuration (a :class:`StepContext`), never the facade: the orchestrator is built from
ports before the facade exists, and the facade is then built whole with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from milkmobs.core import mobs, pipeline
from milkmobs.core.config import CoreConfig
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.domain import (
    Embedding,
    Insights,
    InvalidInputError,
    Mob,
    NotFoundError,
    ValidationResult,
    Video,
    VideoAnalyzed,
    VideoStatus,
)
from milkmobs.domain.base import DomainModel
from milkmobs.ports import AsyncVideoEmbedder, EmbeddingJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepContext:
    """What a workflow step may use: the ports and the core's configuration."""

    ports: CorePorts
    config: CoreConfig


StepHandler = Callable[[StepContext, dict[str, Any]], dict[str, Any]]


def _video_id(state: Mapping[str, Any]) -> str:
    video_id = state.get("videoId")
    if not isinstance(video_id, str) or not video_id:
        raise InvalidInputError(f"the step input has no videoId: {sorted(state)}", field="videoId")
    return video_id


def _required(state: Mapping[str, Any], name: str, video_id: str) -> Any:
    if state.get(name) is None:
        raise InvalidInputError(f"the step input for video {video_id} has no {name}", field=name)
    return state[name]


def _json(model: DomainModel) -> dict[str, Any]:
    return model.to_json_dict()


# --- the steps, typed ------------------------------------------------------------------------------


def mark_processing(ctx: StepContext, video_id: str) -> Video:
    """uploaded → processing (probing the file when a media processor is configured)."""
    return pipeline.mark_processing(ctx.ports, video_id, max_video_seconds=ctx.config.max_video_seconds)


def describe_video(ctx: StepContext, video_id: str) -> Insights:
    """Pegasus branch: insights for the video (usage recorded through Metrics)."""
    return pipeline.describe_video(ctx.ports, ctx.config, video_id)


def embed_video(ctx: StepContext, video_id: str) -> Embedding:
    """Marengo branch (blocking)."""
    return pipeline.embed_video(ctx.ports, video_id)


def start_embedding_job(ctx: StepContext, video_id: str) -> EmbeddingJob:
    """Marengo branch, asynchronous analyzers only: start the job."""
    return pipeline.start_embedding_job(ctx.ports, video_id)


def check_embedding_job(ctx: StepContext, job: EmbeddingJob) -> Embedding | None:
    """Marengo branch, asynchronous analyzers only: the embedding once the job is done, else None."""
    return pipeline.check_embedding_job(ctx.ports, job)


def write_results(ctx: StepContext, video_id: str, insights: Insights, embedding: Embedding) -> Video:
    """Store insights and embedding on the record and the vector in the index."""
    return pipeline.write_results(ctx.ports, video_id, insights, embedding)


def validate_video(ctx: StepContext, video_id: str) -> tuple[Video, ValidationResult]:
    """Score the stored insights: a failing video becomes ``rejected``; a passing one keeps its status
    until ``cluster_video`` places it (the facade's ``revalidate`` does both)."""
    return pipeline.validate_video(ctx.ports, ctx.config, video_id)


def cluster_video(ctx: StepContext, video_id: str) -> Mob | None:
    """Place a video whose validation passed in a mob (None for other videos)."""
    return mobs.cluster_video(ctx.ports, ctx.config, video_id)


def emit_analyzed(ctx: StepContext, video_id: str) -> VideoAnalyzed:
    """Publish ``VideoAnalyzed`` for a validated or rejected video."""
    return pipeline.emit_analyzed(ctx.ports, video_id)


def mark_failed(ctx: StepContext, video_id: str, *, step: str, error: str, error_type: str = "") -> Video:
    """Record the failing step and error; status ``failed``."""
    return pipeline.mark_failed(ctx.ports, video_id, step=step, error=error, error_type=error_type)


# --- the same steps on the state machine's JSON -------------------------------------------------


def mark_processing_step(ctx: StepContext, state: dict[str, Any]) -> dict[str, Any]:
    """analysis-mark-processing: ``{videoId}`` → ``{videoId, status}``."""
    video = mark_processing(ctx, _video_id(state))
    return {"videoId": video.video_id, "status": video.status.value}


def pegasus_step(ctx: StepContext, state: dict[str, Any]) -> dict[str, Any]:
    """analysis-pegasus: ``{videoId}`` → ``{videoId, insights}``."""
    video_id = _video_id(state)
    return {"videoId": video_id, "insights": _json(describe_video(ctx, video_id))}


def _job_json(job: EmbeddingJob) -> dict[str, str]:
    return {"jobId": job.job_id, "videoId": job.video_id}


def marengo_step(ctx: StepContext, state: dict[str, Any]) -> dict[str, Any]:
    """analysis-marengo. ``action=start``: ``{videoId}`` → ``{videoId, done, job, embedding}`` (an
    asynchronous job when the analyzer is an AsyncVideoEmbedder, else the blocking embedding with
    ``done`` true). ``action=check``: ``{videoId, job}`` → the same shape, ``embedding`` once done."""
    video_id = _video_id(state)
    action = state.get("action", "start")
    if action == "start":
        stored = pipeline.stored_embedding(ctx.ports, video_id)
        if stored is not None:  # a resumed workflow: written before the interruption
            return {"videoId": video_id, "done": True, "job": None, "embedding": _json(stored)}
        if isinstance(ctx.ports.analyzer, AsyncVideoEmbedder):
            job = start_embedding_job(ctx, video_id)
            return {"videoId": video_id, "done": False, "job": _job_json(job), "embedding": None}
        embedding = embed_video(ctx, video_id)
        return {"videoId": video_id, "done": True, "job": None, "embedding": _json(embedding)}
    if action == "check":
        raw = _required(state, "job", video_id)
        if not isinstance(raw, Mapping) or not raw.get("jobId"):
            raise InvalidInputError(f"the embedding job of video {video_id} is malformed: {raw!r}", field="job")
        job = EmbeddingJob(job_id=str(raw["jobId"]), video_id=str(raw.get("videoId") or video_id))
        found = check_embedding_job(ctx, job)
        return {
            "videoId": video_id,
            "done": found is not None,
            "job": _job_json(job),
            "embedding": _json(found) if found is not None else None,
        }
    raise InvalidInputError(f"action must be 'start' or 'check', got {action!r}", field="action")


def write_result_step(ctx: StepContext, state: dict[str, Any]) -> dict[str, Any]:
    """analysis-write-result: the merged parallel output ``{videoId, insights, embedding}`` → ``{videoId}``."""
    video_id = _video_id(state)
    insights = Insights.model_validate(_required(state, "insights", video_id))
    raw = _required(state, "embedding", video_id)
    try:
        embedding = Embedding(vector=raw["vector"], model_id=raw.get("modelId", ""))
    except (KeyError, TypeError) as exc:
        raise InvalidInputError(f"the embedding of video {video_id} is malformed", field="embedding") from exc
    write_results(ctx, video_id, insights, embedding)
    return {"videoId": video_id}


def validate_step(ctx: StepContext, state: dict[str, Any]) -> dict[str, Any]:
    """validate-video: ``{videoId}`` → ``{videoId, status, validation, event}``. ``status`` is the
    verdict (``validated`` or ``rejected``); a passing video's record becomes ``validated`` when
    cluster-video places it, which also supplies its ``event`` (null here)."""
    video, result = validate_video(ctx, _video_id(state))
    verdict = VideoStatus.VALIDATED if result.passed else VideoStatus.REJECTED
    return {
        "videoId": video.video_id,
        "status": verdict.value,
        "validation": _json(result),
        "event": None if result.passed else _json(pipeline.analyzed_event(video)),
    }


def cluster_step(ctx: StepContext, state: dict[str, Any]) -> dict[str, Any]:
    """cluster-video: ``{videoId}`` → ``{videoId, status, mobId, event}``."""
    video_id = _video_id(state)
    cluster_video(ctx, video_id)
    video = ctx.ports.videos.get(video_id)
    return {
        "videoId": video_id,
        "status": video.status.value,
        "mobId": video.mob_id,
        "event": _json(pipeline.analyzed_event(video)),
    }


def emit_step(ctx: StepContext, state: dict[str, Any]) -> dict[str, Any]:
    """emit-analyzed (in process; Step Functions publishes ``$.event`` itself): publishes
    ``VideoAnalyzed`` built from the stored record, i.e. the same content as ``$.event``."""
    event = emit_analyzed(ctx, _video_id(state))
    return {"videoId": event.video_id, "status": event.status.value, "event": _json(event)}


def _error_message(error: Any) -> tuple[str, str]:
    """(error name, readable message) from the catch's ``{"name", "message"}``."""
    if not isinstance(error, Mapping):
        return "", str(error) if error else "unknown error"
    name = str(error.get("name") or "")
    message = str(error.get("message") or "")
    return name, message or name or "unknown error"


def mark_failed_step(ctx: StepContext, state: dict[str, Any]) -> dict[str, Any]:
    """analysis-mark-failed (the catch): ``{videoId, failedStep, error: {name, message}}`` → the video
    ``failed`` with that step and error. A video deleted meanwhile has nothing left to mark.

    A video whose analysis already finished (validated or rejected) keeps its result: a late
    failure (clustering, publishing the event, an execution timeout racing the last step) is
    recorded on the execution only, and the hourly re-clustering places a video left without a mob."""
    video_id = _video_id(state)
    step = str(state.get("failedStep") or "unknown step")
    name, message = _error_message(state.get("error"))
    try:
        current = ctx.ports.videos.get(video_id)
        if current.status in (VideoStatus.VALIDATED, VideoStatus.REJECTED):
            log.warning(
                "video %s keeps its result (%s) after %s failed: %s", video_id, current.status.value, step, message
            )
            return {"videoId": video_id, "status": current.status.value, "failure": None, "kept": True}
        video = mark_failed(ctx, video_id, step=step, error=message, error_type=name)
    except NotFoundError:
        return {"videoId": video_id, "status": None, "deleted": True}
    failure = video.failure.to_json_dict() if video.failure is not None else None
    return {"videoId": video_id, "status": video.status.value, "failure": failure}


STEP_HANDLERS: dict[str, StepHandler] = {
    "analysis-mark-processing": mark_processing_step,
    "analysis-pegasus": pegasus_step,
    "analysis-marengo": marengo_step,
    "analysis-write-result": write_result_step,
    "validate-video": validate_step,
    "cluster-video": cluster_step,
    "emit-analyzed": emit_step,
    "analysis-mark-failed": mark_failed_step,
}
