"""Marengo request bodies (2.7 flat, 3.0 nested) and turning their output into one video vector."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from milkmobs.adapters.aws.bedrock.models import MarengoSpec, MarengoVersion
from milkmobs.domain.embedding import Vector, as_vector, l2_normalize
from milkmobs.domain.errors import InvalidInputError


class MarengoOutputError(ValueError):
    """The model's output holds no usable vector (the caller names the video and model)."""


def video_request(spec: MarengoSpec, *, media_uri: str, bucket_owner: str, option: str) -> dict[str, Any]:
    """The StartAsyncInvoke ``modelInput`` for a video held in S3."""
    s3_location = {"s3Location": {"uri": media_uri, "bucketOwner": bucket_owner}}
    if spec.version is MarengoVersion.V3_0:
        return {
            "inputType": "video",
            "video": {
                "mediaSource": s3_location,
                "embeddingOption": [option],
                # The asset vector is the video's own embedding; clips are the fallback to pool.
                "embeddingScope": ["clip", "asset"],
            },
        }
    return {"inputType": "video", "mediaSource": s3_location, "embeddingOption": [option]}


def text_request(spec: MarengoSpec, text: str) -> dict[str, Any]:
    """The InvokeModel body for a text query."""
    if spec.version is MarengoVersion.V3_0:
        return {"inputType": "text", "text": {"inputText": text}}
    return {"inputType": "text", "inputText": text, "textTruncate": "end"}


def client_request_token(video_id: str, model_id: str, option: str) -> str:
    """Idempotency token for StartAsyncInvoke: the same video, model and option give the same job."""
    digest = hashlib.sha256(f"{video_id}|{model_id}|{option}".encode()).hexdigest()[:24]
    return f"milkmobs-{digest}"


def output_segments(raw: bytes | str) -> list[dict[str, Any]]:
    """The list of embedding objects in an output file or response, whatever its wrapping.

    Files hold ``{"data": [...]}``; the 3.0 guide also shows ``{"data": {...}}`` and a bare
    object; some clients see ``{"embeddings": [...]}``.
    """
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MarengoOutputError(f"the output is not JSON ({exc})") from exc
    data = body
    if isinstance(body, dict):
        data = body.get("data", body.get("embeddings", body))
    items = data if isinstance(data, list) else [data]
    segments = [item for item in items if isinstance(item, dict) and "embedding" in item]
    if not segments:
        raise MarengoOutputError("the output holds no 'embedding'")
    return segments


def _vector(segment: dict[str, Any], dimension: int) -> Vector:
    try:
        return as_vector(segment["embedding"], dimension=dimension)
    except InvalidInputError as exc:
        raise MarengoOutputError(exc.message) from exc


def _unit(vector: Vector, what: str) -> Vector:
    try:
        return l2_normalize(vector)
    except InvalidInputError as exc:
        raise MarengoOutputError(f"{what} is a zero vector") from exc


def video_vector(segments: list[dict[str, Any]], *, option: str, dimension: int) -> Vector:
    """The unit-length video vector: the asset-scope vector of ``option`` if present, else the
    mean of its clip vectors (each clip normalised first, so long clips do not dominate)."""
    chosen = [s for s in segments if s.get("embeddingOption", option) == option]
    if not chosen:
        found = sorted({str(s.get("embeddingOption")) for s in segments})
        raise MarengoOutputError(f"the output has no {option!r} embedding (found options {found})")
    assets = [s for s in chosen if s.get("embeddingScope") == "asset"]
    if assets:
        return _unit(_vector(assets[0], dimension), "the asset vector")
    clips = np.stack([_unit(_vector(s, dimension), "a clip vector") for s in chosen])
    return _unit(clips.mean(axis=0).astype(np.float32), "the mean of the clip vectors")


def text_vector(segments: list[dict[str, Any]], *, dimension: int) -> Vector:
    """The unit-length vector of a text query (the first, and only, embedding)."""
    return _unit(_vector(segments[0], dimension), "the text vector")


def covered_seconds(segments: list[dict[str, Any]]) -> float:
    """The media length the output covers (largest ``endSec``), 0 when unknown."""
    ends = [float(s["endSec"]) for s in segments if isinstance(s.get("endSec"), int | float)]
    return max(ends, default=0.0)
