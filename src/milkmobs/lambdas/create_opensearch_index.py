"""create-opensearch-index: the CloudFormation custom resource (through the CDK Provider framework).

Create/Update create the vector index if it does not exist yet (idempotent); Delete keeps the data:
the index goes away with its domain, and a replaced resource must not wipe the embeddings.
The answer is the Provider framework's ``{"PhysicalResourceId", "Data"}``; any failure raises, so
the framework reports FAILED to CloudFormation instead of leaving the stack waiting.

A domain CloudFormation has just created answers 403 (its access policy is still being applied)
or 5xx for a few minutes: those are retried with backoff until the function has 30 s left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from milkmobs.lambdas._runtime import app, lambda_handler, logger

_REQUEST_TYPES = ("Create", "Update", "Delete")
#: Stop retrying when the function has this little time left, so the failure is still reported.
_RESERVE_MILLIS = 30_000
_FIRST_DELAY, _MAX_DELAY = 5.0, 60.0
_DIRECT_CALL_BUDGET_SECONDS = 120


def _comes_up(exc: Exception) -> bool:
    """A new domain's passing refusal: 401/403 (policy not applied yet), 429, 5xx or no answer."""
    from milkmobs.domain import BackendUnavailableError, ConfigurationError

    if isinstance(exc, BackendUnavailableError):
        return True
    status = getattr(exc.__cause__, "status_code", None)
    return isinstance(exc, ConfigurationError) and status in (401, 403)


def create_when_ready(
    create: Callable[[], object], remaining_millis: Callable[[], int], *, sleep: Callable[[float], None] = time.sleep
) -> object:
    """``create()``, retried while the domain comes up and time remains; the last error otherwise."""
    delay = _FIRST_DELAY
    attempt = 1
    while True:
        try:
            return create()
        except Exception as exc:
            if not _comes_up(exc) or remaining_millis() - delay * 1000 < _RESERVE_MILLIS:
                raise
            logger.warning("index not created yet (attempt %d, retrying in %.0f s): %s", attempt, delay, exc)
        sleep(delay)
        delay, attempt = min(delay * 2, _MAX_DELAY), attempt + 1


def _physical_id(index: object) -> str:
    name = getattr(index, "index_name", None)
    return f"milkmobs-vector-index/{name}" if isinstance(name, str) and name else "milkmobs-vector-index"


def _remaining_millis(context: Any) -> Callable[[], int]:
    """Lambda's clock; called directly (scripts, tests), the function's own 120 s budget from now."""
    if context is not None:
        return context.get_remaining_time_in_millis  # type: ignore[no-any-return]
    deadline = time.monotonic() + _DIRECT_CALL_BUDGET_SECONDS
    return lambda: int((deadline - time.monotonic()) * 1000)


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from milkmobs.domain import InvalidInputError  # lazily: the errors pull in the whole domain (cold start)

    request_type = event.get("RequestType")
    if request_type not in _REQUEST_TYPES:
        raise InvalidInputError(f"not a CloudFormation custom-resource event (RequestType={request_type!r})")
    index = app().ports.index
    physical_id = event.get("PhysicalResourceId") or _physical_id(index)
    if request_type == "Delete":
        logger.info("custom resource delete: keeping index %s", physical_id)
        return {"PhysicalResourceId": physical_id}
    create = getattr(index, "create_index", None)
    created = False
    if callable(create):
        result = create_when_ready(create, _remaining_millis(context))
        created = bool(result) if isinstance(result, bool) else True
    logger.info("custom resource %s: index %s ready", request_type, physical_id)
    return {
        "PhysicalResourceId": _physical_id(index) if request_type == "Create" else physical_id,
        # CloudFormation's Fn::GetAtt hands these out as strings.
        "Data": {
            "IndexName": str(getattr(index, "index_name", "")),
            "Dimension": str(index.dimension),
            "Created": "true" if created else "false",
        },
    }
