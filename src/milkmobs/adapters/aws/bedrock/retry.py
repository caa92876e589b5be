"""Retry policy and error translation for Bedrock runtime calls.

botocore's own retries cover throttling and 5xx only, and never ``ModelErrorException`` or
``ModelTimeoutException``, so the Bedrock clients are built with botocore retries off and
every call goes through :func:`call_with_retries`, which applies the policy the reference
recommends (exponential backoff with full jitter) and turns whatever is left into a
milkmobs ``AnalysisError`` naming the video, the model and the service's own message.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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

#: Retried with backoff up to ``RetryPolicy.max_attempts``.
RETRY_WITH_BACKOFF = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelErrorException",
    }
)
#: Retried, but at most this many times: they rarely pass quickly and each try may be billed.
RETRY_LIMITED = {"ModelTimeoutException": 2, "ServiceQuotaExceededException": 2}
#: Never retried: the request itself is wrong, or we are not allowed to make it.
NEVER_RETRY = frozenset({"ValidationException", "AccessDeniedException", "ResourceNotFoundException"})

_NETWORK_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff with full jitter: the n-th wait is uniform in ``[0, min(max_delay, base_delay * 2**n)]``."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based)."""
        return float(self.jitter()) * min(self.max_delay, self.base_delay * 2.0**retry_number)


def client_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def client_error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def _http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _retry_budget(exc: Exception, policy: RetryPolicy) -> int:
    """How many retries this kind of failure deserves (0: never)."""
    if isinstance(exc, _NETWORK_ERRORS):
        return policy.max_attempts - 1
    if not isinstance(exc, ClientError):
        return 0
    code = client_error_code(exc)
    if code in NEVER_RETRY:
        return 0
    if code in RETRY_LIMITED:
        return min(RETRY_LIMITED[code], policy.max_attempts - 1)
    if code in RETRY_WITH_BACKOFF or _http_status(exc) >= 500:
        return policy.max_attempts - 1
    return 0


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
    if code in RETRY_LIMITED or code in RETRY_WITH_BACKOFF:
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
        transient = code in RETRY_WITH_BACKOFF or code in RETRY_LIMITED or _http_status(exc) >= 500
    else:
        message = (
            f"{operation} for {subject} with model {model_id} failed after {attempts} attempt(s): "
            f"{type(exc).__name__}: {exc}. Bedrock in {region} could not be reached; retry later"
        )
        transient = isinstance(exc, _NETWORK_ERRORS)
    if transient:
        return TransientAnalysisError(message, video_id=video_id, model_id=model_id)
    return AnalysisError(message, video_id=video_id, model_id=model_id)


def call_with_retries(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    operation: str,
    video_id: str | None,
    model_id: str,
    region: str,
    media_uri: str | None = None,
) -> T:
    """Run ``call`` under ``policy``; an ``AnalysisError`` (or ``TransientAnalysisError``) when it gives up."""
    retries_done = 0
    while True:
        try:
            return call()
        except (ClientError, *_NETWORK_ERRORS) as exc:
            if retries_done >= _retry_budget(exc, policy):
                raise translate_failure(
                    exc,
                    operation=operation,
                    video_id=video_id,
                    model_id=model_id,
                    region=region,
                    media_uri=media_uri,
                    attempts=retries_done + 1,
                ) from exc
            policy.sleep(policy.delay(retries_done))
            retries_done += 1
