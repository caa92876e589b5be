"""cluster-embeddings: the hourly EventBridge schedule → batch re-clustering of every validated embedding."""

from __future__ import annotations

from typing import Any

from milkmobs.lambdas._runtime import app, lambda_handler, logger


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

    # The scheduled event carries nothing we need beyond its id and time (detail {}).
    if "detail-type" in event:
        scheduled = EventBridgeEvent(event)
        logger.info("re-clustering for %s %s at %s", scheduled.detail_type, scheduled.get_id, scheduled.time)
    report = app().recluster()
    logger.info("re-clustered %d videos into %d mobs", report.videos, report.mobs)
    return report.to_json_dict()
