"""admin-recluster: POST /admin/recluster (API Gateway REST proxy event → the shared route table)."""

from __future__ import annotations

from typing import Any

from milkmobs.lambdas._runtime import lambda_handler, resolve_api


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolve_api(event, context)
