"""sweep-stuck-videos: a scheduled EventBridge rule → re-drive ``uploaded`` videos that never got an
execution, fail those whose execution ended without them, expire abandoned ``pending_upload`` records.

Idempotent (executions are named by the video id), so the schedule may fire twice or late.
"""

from __future__ import annotations

from typing import Any

from milkmobs.lambdas._runtime import app, lambda_handler, logger


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from milkmobs.core.sweep import sweep  # lazily, like every entry point (cold start)

    application = app()
    expires = application.config.upload_url_expires_seconds
    report = sweep(application.ports, application.workflow, upload_url_expires_seconds=expires)
    logger.info(
        "sweep: %d restarted, %d running, %d failed, %d expired",
        len(report.restarted),
        len(report.running),
        len(report.failed),
        len(report.expired),
    )
    return report.to_json_dict()
