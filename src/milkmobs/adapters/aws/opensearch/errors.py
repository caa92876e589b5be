"""opensearch-py errors → the milkmobs error tree."""

from __future__ import annotations

from opensearchpy.exceptions import (
    AuthenticationException,
    AuthorizationException,
    ConnectionError,
    OpenSearchException,
    TransportError,
)

from milkmobs.domain.errors import BackendUnavailableError, ConfigurationError, InvalidInputError, MilkmobsError


def translate(exc: OpenSearchException, *, doing: str) -> MilkmobsError:
    """One place mapping opensearch-py errors onto the milkmobs tree."""
    if isinstance(exc, AuthenticationException | AuthorizationException):
        return ConfigurationError(
            f"{doing}: OpenSearch refused the credentials ({exc.status_code}); check the role's access policy "
            "(SigV4) or MILKMOBS_OPENSEARCH__USERNAME/PASSWORD"
        )
    if isinstance(exc, ConnectionError):
        return BackendUnavailableError(f"{doing}: OpenSearch is unreachable ({exc.error}); retry later")
    if isinstance(exc, TransportError):
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        if status == 429 or status >= 500:
            return BackendUnavailableError(f"{doing}: OpenSearch answered {status} ({exc.error}); retry later")
        return InvalidInputError(f"{doing}: OpenSearch rejected the request ({status} {exc.error}: {exc.info})")
    return BackendUnavailableError(f"{doing}: {exc}")
