"""Error translation for Bedrock runtime calls; no retry loop of its own.

Retries have one owner per kind of failure (docs/architecture.md, "Retries"): botocore's standard
mode (the one client configuration, ``adapters/aws/clients.py``) retries throttling, 5xx,
``ModelNotReadyException`` and connection faults within a call; the workflow retries the step for a
``TransientAnalysisError``: what botocore never retries (``ModelErrorException``,
``ModelTimeoutException``, ``ServiceQuotaExceededException``) and what outlasted botocore's tries.
:func:`call_once` runs a call and turns a failure into a milkmobs ``AnalysisError`` naming the video,
the model and the service's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from milkmobs.domain.errors import AnalysisError, TransientAnalysisError

T = TypeVar("T")

#: Failures a later try may get past: a ``TransientAnalysisError``, which the workflow retries.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelErrorException",
        "ModelTimeoutException",
        "ServiceQuotaExceededException",
    }
)

_NETWORK_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


def client_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def client_error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def _http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _attempts(exc: Exception) -> int:
    """The tries botocore made (its ``RetryAttempts`` plus the first)."""
    if isinstance(exc, ClientError):
        return 1 + int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)
    return 1


def _hint(code: str, *, region: str, media_uri: str | None) -> str:
    """What a person can do about a failure with this code."""
    if code == "ValidationException":
        where = f" {media_uri}" if media_uri else " the input"
        return (
            f"Bedrock rejected the request: check that{where} exists, is a decodable video within the "
            f"model's limits, and that its bucket is in {region}, the region of the model call"
        )
    if code == "AccessDeniedException":
        return (
            "grant this role bedrock:InvokeModel on the model and inference profile, enable model access "
            f"in {region}, and let Bedrock read the video and write the embedding output in S3"
        )
    if code == "ResourceNotFoundException":
        return f"the model or inference profile is not available in {region}; check the model id and region"
    if code in TRANSIENT_CODES:
        return "the service is busy or the model timed out; retry later"
    return "see the service message"


def translate_failure(
    exc: Exception,
    *,
    operation: str,
    video_id: str | None,
    model_id: str,
    region: str,
    media_uri: str | None = None,
    attempts: int = 1,
) -> AnalysisError:
    """The milkmobs error for a failed Bedrock call (transient when a later retry could pass)."""
    subject = f"video {video_id}" if video_id else "text query"
    if isinstance(exc, ClientError):
        code = client_error_code(exc)
        message = (
            f"{operation} for {subject} with model {model_id} failed after {attempts} attempt(s): "
            f"{code} — {client_error_message(exc)}. {_hint(code, region=region, media_uri=media_uri)}"
        )
        transient = code in TRANSIENT_CODES or _http_status(exc) >= 500
    else:
        message = (
            f"{operation} for {subject} with model {model_id} failed after {attempts} attempt(s): "
            f"{type(exc).__name__}: {exc}. Bedrock in {region} could not be reached; retry later"
        )
        transient = isinstance(exc, _NETWORK_ERRORS)
    if transient:
        return TransientAnalysisError(message, video_id=video_id, model_id=model_id)
    return AnalysisError(message, video_id=video_id, model_id=model_id)


def call_once(
    call: Callable[[], T],
    *,
    operation: str,
    video_id: str | None,
    model_id: str,
    region: str,
    media_uri: str | None = None,
) -> T:
    """Run ``call``; an ``AnalysisError`` (``TransientAnalysisError`` when a later try may pass) if it fails."""
    try:
        return call()
    except (ClientError, *_NETWORK_ERRORS) as exc:
        raise translate_failure(
            exc,
            operation=operation,
            video_id=video_id,
            model_id=model_id,
            region=region,
            media_uri=media_uri,
            attempts=_attempts(exc),
        ) from exc
