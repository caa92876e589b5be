"""create-opensearch-index: the CloudFormation custom resource (through the CDK Provider framework).

Create/Update create the vector index if it does not exist yet (idempotent); Delete keeps the data:
the index goes away with its domain, and a replaced resource must not wipe the embeddings.
The answer is the Provider framework's ``{"PhysicalResourceId", "Data"}``; any failure raises, so
the framework reports FAILED to CloudFormation instead of leaving the stack waiting.
"""

from __future__ import annotations

import logging
from typing import Any

from milkmobs.lambdas._runtime import app

logger = logging.getLogger("milkmobs.lambdas.create_opensearch_index")

_REQUEST_TYPES = ("Create", "Update", "Delete")


def _physical_id(index: object) -> str:
    name = getattr(index, "index_name", None)
    return f"milkmobs-vector-index/{name}" if isinstance(name, str) and name else "milkmobs-vector-index"


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
        result = create()
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
