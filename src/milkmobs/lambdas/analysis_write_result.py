"""analysis-write-result: store insights and embedding, index the vector.

A Step Functions task: the state JSON in, the state JSON out.
"""

from __future__ import annotations

from typing import Any

from milkmobs.lambdas._runtime import lambda_handler, run_step


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_step("analysis-write-result", event)
