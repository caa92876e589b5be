"""Events: the ``milk-mobs-bus`` custom bus and the hourly ClusteringSchedule."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from milkmobs.domain.events import EVENT_BUS_NAME


class EventsAndSchedule(Construct):
    """The bus that carries ``VideoAnalyzed`` and the rule that re-clusters every hour."""

    def __init__(self, scope: Construct, construct_id: str, *, batch_clustering: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self, "Bus", event_bus_name=EVENT_BUS_NAME, description="milkmobs: VideoAnalyzed events"
        )
        self.clustering_schedule = events.Rule(
            self,
            "ClusteringSchedule",
            description="Hourly batch re-clustering of every validated embedding (cluster-embeddings)",
            schedule=events.Schedule.rate(cdk.Duration.hours(1)),
            targets=[targets.LambdaFunction(batch_clustering, retry_attempts=2)],
        )
