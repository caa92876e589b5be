"""cluster-embeddings: the hourly EventBridge schedule → batch re-clustering of every validated embedding."""

from __future__ import annotations

import logging
from typing import Any

from milkmobs.lambdas._runtime import app

logger = logging.getLogger("milkmobs.lambdas.cluster_embeddings")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The scheduled event carries nothing we need (detail-type "Scheduled Event", detail {}).
    report = app().recluster()
    logger.info("re-clustered %d videos into %d mobs", report.videos, report.mobs)
    return report.to_json_dict()
