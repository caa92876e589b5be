"""Where asynchronous failures end: one SQS queue and its alarm.

Lambda retries an asynchronous invocation (S3 notification, EventBridge rule, ``InvocationType=Event``)
twice and then drops the event silently unless it has an on-failure destination. Every function
invoked that way gets this queue as its destination, every rule target gets it as its
dead-letter queue (for events EventBridge could not even deliver), and the alarm fires on the
first message: an operator reads the event from the queue and re-drives it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

#: Lambda's own retries of an asynchronous invocation before the destination gets it (0-2).
ASYNC_RETRY_ATTEMPTS = 2
#: An event older than this is not retried any more, it goes to the destination.
MAX_EVENT_AGE = cdk.Duration.hours(6)
#: How long a failed event waits in the queue for someone to look at it (SQS allows 14 days at most).
RETENTION = cdk.Duration.days(14)


class FailedInvocations(Construct):
    """The on-failure queue of every asynchronous invocation, and the alarm on it."""

    def __init__(self, scope: Construct, construct_id: str, *, alarm_name_prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
        )
        self.alarm = self.queue.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(5), statistic="Maximum"
        ).create_alarm(
            self,
            "Alarm",
            alarm_name=alarm_name_prefix + "AsyncInvocationFailures",
            alarm_description="An asynchronous invocation (upload notification, thumbnail, re-clustering, "
            "stuck-video sweep, failure recording) failed after its retries: read the event from the queue",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.routed: list[lambda_.IFunction] = []

    def route(self, function: lambda_.Function) -> None:
        """Send ``function``'s failed asynchronous invocations to the queue (after Lambda's retries)."""
        function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.queue),
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
        )
        self.routed.append(function)
