"""validate-video: the workflow's validation step, and the API's POST /validate and GET /validate/{videoId}.

One function, two event shapes: an API Gateway REST proxy event (it has ``httpMethod``) goes to the
shared route table; anything else is the state machine's JSON for the ``validate-video`` step.
"""

from __future__ import annotations

from typing import Any

from milkmobs.lambdas._runtime import lambda_handler, resolve_api, run_step


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "httpMethod" in event and "requestContext" in event:
        return resolve_api(event, context)
    return run_step("validate-video", event)
