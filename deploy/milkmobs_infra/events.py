"""Events: the ``milk-mobs-bus`` custom bus, the hourly ClusteringSchedule and the stuck-video sweep.

Every rule target has the failed-invocations queue as its dead-letter queue (an event EventBridge
could not deliver), next to the functions' own on-failure destination (``failures.py``).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from milkmobs.domain.events import EVENT_BUS_NAME

#: How often stuck videos are looked for (the sweep leaves uploads younger than 10 minutes alone).
SWEEP_EVERY = cdk.Duration.minutes(15)


class EventsAndSchedule(Construct):
    """The bus that carries ``VideoAnalyzed`` and the rule that re-clusters every hour."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        batch_clustering: lambda_.IFunction,
        sweep: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self, "Bus", event_bus_name=EVENT_BUS_NAME, description="milkmobs: VideoAnalyzed events"
        )
        self.clustering_schedule = events.Rule(
            self,
            "ClusteringSchedule",
            description="Hourly batch re-clustering of every validated embedding (cluster-embeddings)",
            schedule=events.Schedule.rate(cdk.Duration.hours(1)),
            targets=[targets.LambdaFunction(batch_clustering, retry_attempts=2, dead_letter_queue=dead_letter_queue)],
        )
        self.sweep_schedule = events.Rule(
            self,
            "StuckVideoSweep",
            description="Re-drive uploaded videos without an execution, expire abandoned uploads (sweep-stuck-videos)",
            schedule=events.Schedule.rate(SWEEP_EVERY),
            targets=[targets.LambdaFunction(sweep, retry_attempts=2, dead_letter_queue=dead_letter_queue)],
        )


class UncaughtExecutionEnds(Construct):
    """Executions that end TIMED_OUT or ABORTED never reach the state machine's Catch, so their video
    would stay ``processing``. This rule hands them to the catch's own function: the execution is
    named by the video id, so the event carries everything analysis-mark-failed needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_arn: str,
        mark_failed: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="Record timed-out or aborted analysis executions on their video (analysis-mark-failed)",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": ["TIMED_OUT", "ABORTED"], "stateMachineArn": [state_machine_arn]},
            ),
            targets=[
                targets.LambdaFunction(
                    mark_failed,
                    retry_attempts=2,
                    dead_letter_queue=dead_letter_queue,
                    event=events.RuleTargetInput.from_object(
                        {
                            "videoId": events.EventField.from_path("$.detail.name"),
                            "failedStep": "AnalysisWorkflow",
                            "error": {
                                "Error": events.EventField.from_path("$.detail.status"),
                                "Cause": "the analysis execution ended before finishing; upload the video again",
                            },
                        }
                    ),
                )
            ],
        )
