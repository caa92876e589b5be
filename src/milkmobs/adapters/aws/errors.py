"""Shared pieces of ClientError translation.

Each adapter module keeps its own small ``_translate`` (what a code *means* depends on the
call: a missing table is a configuration problem, a missing object is "not found"), and uses
these helpers for the codes every AWS service shares.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.domain.errors import (
    BackendUnavailableError,
    ConfigurationError,
    ForbiddenError,
    InvalidInputError,
    MilkmobsError,
)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "LimitExceededException",
        "TransactionInProgressException",
    }
)
UNAVAILABLE_CODES = frozenset(
    {"InternalServerError", "InternalError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException"}
)
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)


def error_code(exc: ClientError) -> str:
    """The AWS error code of ``exc`` (empty string if the response carries none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def http_status(exc: ClientError) -> int:
    """The HTTP status the service answered (0 when the response has none)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def tries(exc: ClientError) -> int:
    """How many times botocore sent the call (its ``RetryAttempts`` plus the first)."""
    return 1 + int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)


def common_translation(exc: ClientError, *, doing: str, video_id: str | None = None) -> MilkmobsError:
    """The milkmobs error for codes that mean the same on every service.

    ``doing`` says what the adapter was doing ("reading video vid_1 from table t"), so the
    message tells an operator where to look. Throttling and 5xx arrive here after botocore tried
    the call its whole budget (``adapters/aws/clients.py``); nothing retries them again.
    """
    code = error_code(exc)
    detail = f"{doing}: {exc.operation_name} answered {code or 'error'} — {error_message(exc)}"
    spent = f"after {tries(exc)} tries of the call (its whole retry budget)"
    if code in THROTTLING_CODES:
        return BackendUnavailableError(
            f"{detail}; AWS kept throttling it {spent}: retry later, and raise the service's quota or "
            "capacity if it keeps happening",
            video_id=video_id,
        )
    if code in UNAVAILABLE_CODES or http_status(exc) >= 500:
        return BackendUnavailableError(
            f"{detail}; the service stayed unavailable {spent}: retry later", video_id=video_id
        )
    if code in ACCESS_CODES:
        return ConfigurationError(
            f"{detail}; check the IAM permissions and credentials of this function", video_id=video_id
        )
    if code in {"ValidationException", "InvalidParameterValue", "InvalidParameterException"}:
        return InvalidInputError(detail, video_id=video_id)
    if code == "Forbidden":
        return ForbiddenError(detail, video_id=video_id)
    return BackendUnavailableError(detail, video_id=video_id)


def transport_error(exc: BotoCoreError, *, doing: str, video_id: str | None = None) -> BackendUnavailableError:
    """Connection failures and timeouts (after botocore's own retries) are 'unavailable'."""
    return BackendUnavailableError(
        f"{doing}: {exc}; the AWS endpoint could not be reached through every try of the call: check the "
        "network path to it, then retry",
        video_id=video_id,
    )
