"""analysis-mark-failed: record the failing step and error (the workflow's catch).

A Step Functions task: the state JSON in, the state JSON out. The catch hands Step Functions'
``{"Error", "Cause"}``; the core's step reads ``{"name", "message"}``.
"""

from __future__ import annotations

from typing import Any

from milkmobs.adapters.aws.sfn_names import caught_error
from milkmobs.lambdas._runtime import lambda_handler, run_step


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_step("analysis-mark-failed", {**event, "error": caught_error(event.get("error"))})
