"""The one error tree of milkmobs. Edges (HTTP, CLI, Lambda) map these to their own shapes."""

from __future__ import annotations


class MilkmobsError(Exception):
    """Base of every error milkmobs raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, video_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.video_id = video_id


class InvalidInputError(MilkmobsError):
    """The caller sent something we refuse (names the field where there is one)."""

    code = "invalid_input"


class PayloadTooLargeError(InvalidInputError):
    """A declared or actual size above the configured limit."""

    code = "payload_too_large"


class NotFoundError(MilkmobsError):
    """The video, mob or execution does not exist."""

    code = "not_found"


class ConflictError(MilkmobsError):
    """The thing exists but is in the wrong state (illegal transition, version clash, duplicate)."""

    code = "conflict"


class VersionConflictError(ConflictError):
    """A save made from a copy of a record that another writer saved since it was read (its revision
    or version is no longer the stored one): nothing was written; re-read the record and apply the
    change again."""


class DuplicateContentError(ConflictError):
    """The user already uploaded these exact bytes; ``video_id`` names that video."""

    code = "duplicate_content"


class IdempotencyKeyReusedError(ConflictError):
    """An ``Idempotency-Key`` came back with a different request than the one it was first used for."""

    code = "idempotency_key_reused"


class UnauthorizedError(MilkmobsError):
    """No credentials were presented."""

    code = "unauthorized"


class ForbiddenError(MilkmobsError):
    """Credentials were presented but do not grant access."""

    code = "forbidden"


class BackendUnavailableError(MilkmobsError):
    """A backing service is throttling or down; retrying later may succeed."""

    code = "backend_unavailable"


class AnalysisError(MilkmobsError):
    """A video model could not analyse a video (names the video and the model)."""

    code = "analysis_failed"

    def __init__(
        self,
        message: str,
        *,
        video_id: str | None = None,
        model_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, video_id=video_id)
        self.model_id = model_id
        self.retryable = retryable


class TransientAnalysisError(AnalysisError):
    """A model call failed for a reason that may pass (throttling, 5xx, timeouts): retry with backoff.

    A distinct class so Step Functions ``Retry`` can match it by name.
    """

    code = "analysis_unavailable"

    def __init__(self, message: str, *, video_id: str | None = None, model_id: str | None = None) -> None:
        super().__init__(message, video_id=video_id, model_id=model_id, retryable=True)


class MediaError(MilkmobsError):
    """A stored file is missing or is not a decodable video."""

    code = "media_error"


class ConfigurationError(MilkmobsError):
    """Settings are inconsistent (wrong dimension, missing bucket, ...)."""

    code = "configuration_error"
