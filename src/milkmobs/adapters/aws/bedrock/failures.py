"""Error translation for Bedrock runtime calls; no retry loop of its own.

Retries have one owner per kind of failure (docs/architecture.md, "Retries"): botocore's standard
mode (the one client configuration, ``adapters/aws/clients.py``) retries throttling, 5xx,
``ModelNotReadyException`` and connection faults within a call, for about a minute; what is still
failing after that is a ``BackendUnavailableError``, which nothing retries again (the step fails,
naming the video, the call and what to do). The workflow retries the step for a
``TransientAnalysisError`` only: a model's own fault that botocore never retries
(``ModelErrorException``, ``ModelTimeoutException``, ``ServiceQuotaExceededException``).
:func:`call_once` runs a call and turns a failure into a milkmobs error naming the video, the model
and the service's own message.
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

from milkmobs.adapters.aws.errors import error_code, error_message, http_status, tries
from milkmobs.domain.errors import AnalysisError, BackendUnavailableError, MilkmobsError, TransientAnalysisError

T = TypeVar("T")

#: What botocore's standard mode retries within the call (throttling, 5xx, a modelled retryable
#: error): once it gives up, a ``BackendUnavailableError`` that nothing retries again.
RETRIED_BY_BOTOCORE_CODES = frozenset(
    {"ThrottlingException", "ServiceUnavailableException", "InternalServerException", "ModelNotReadyException"}
)
#: A model's own faults botocore never retries: a ``TransientAnalysisError``, which the workflow retries.
MODEL_FAULT_CODES = frozenset({"ModelErrorException", "ModelTimeoutException", "ServiceQuotaExceededException"})

_NETWORK_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


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
    if code in RETRIED_BY_BOTOCORE_CODES:
        return (
            f"Bedrock in {region} stayed busy through every try of the call; raise the model's quota in "
            "Service Quotas or analyse fewer videos at once, then upload the video again"
        )
    if code in MODEL_FAULT_CODES:
        return "the model failed or timed out on this call; the workflow runs the step again"
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
) -> MilkmobsError:
    """The milkmobs error for a failed Bedrock call: ``BackendUnavailableError`` for what botocore
    already retried, ``TransientAnalysisError`` for a model fault the workflow retries, otherwise a
    permanent ``AnalysisError``."""
    subject = f"video {video_id}" if video_id else "text query"
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = (
            f"{operation} for {subject} with model {model_id} failed after {attempts} attempt(s): "
            f"{code} — {error_message(exc)}. {_hint(code, region=region, media_uri=media_uri)}"
        )
        if code in MODEL_FAULT_CODES:
            return TransientAnalysisError(message, video_id=video_id, model_id=model_id)
        if code in RETRIED_BY_BOTOCORE_CODES or http_status(exc) >= 500:
            return BackendUnavailableError(message, video_id=video_id)
        return AnalysisError(message, video_id=video_id, model_id=model_id)
    message = (
        f"{operation} for {subject} with model {model_id} failed: "
        f"{type(exc).__name__}: {exc}. Bedrock in {region} could not be reached through every try of the "
        "call; check the network path to it (VPC endpoint, NAT), then upload the video again"
    )
    if isinstance(exc, _NETWORK_ERRORS):
        return BackendUnavailableError(message, video_id=video_id)
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
    """Run ``call``; the milkmobs error of :func:`translate_failure` if it fails."""
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
            attempts=tries(exc) if isinstance(exc, ClientError) else 1,
        ) from exc
