"""Observability: the MilkMobsSystemHealth dashboard and the seed's four alarms (+ optional SNS)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

BEDROCK_NAMESPACE = "MilkMobs/Bedrock"  # docs/data-model.md
FIVE_MINUTES = cdk.Duration.minutes(5)


def bedrock_search(metric_name: str, label: str) -> cw.MathExpression:
    """Every (ModelId, ModelType) series of a Bedrock usage metric, whatever models are configured."""
    return cw.MathExpression(
        expression=f"SEARCH('{{{BEDROCK_NAMESPACE},ModelId,ModelType}} MetricName=\"{metric_name}\"', 'Sum', 300)",
        label=label,
        period=FIVE_MINUTES,
    )


class Monitoring(Construct):
    """Dashboard widgets in the seed's order; alarms notify ``alarm_email`` when one is given."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        alarm_name_prefix: str,
        analysis_functions: Sequence[lambda_.Function],
        all_functions: Sequence[lambda_.Function],
        pegasus: lambda_.Function,
        marengo: lambda_.Function,
        state_machine: sfn.StateMachine,
        tables: Sequence[dynamodb.ITable],
        bucket: s3.IBucket,
        api: apigw.RestApi,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._alarm_prefix = alarm_name_prefix  # the seed's alarm names, made unique per deployment
        self.topic: sns.Topic | None = None
        if alarm_email:
            self.topic = self._topic(alarm_email)

        def fn_metrics(metric: str) -> list[cw.IMetric]:
            return [
                f.metric(
                    metric,
                    period=FIVE_MINUTES,
                    statistic="Sum" if metric != "Duration" else "Average",
                    label=f.node.scope.node.id if f.node.scope else None,
                )
                for f in analysis_functions
            ]

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Analysis Lambda Invocations", left=fn_metrics("Invocations"), width=12),
            cw.GraphWidget(title="Analysis Lambda Errors", left=fn_metrics("Errors"), width=12),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Lambda Duration", left=fn_metrics("Duration"), width=12),
            cw.GraphWidget(
                title="Step Functions Executions",
                left=[
                    state_machine.metric_started(period=FIVE_MINUTES),
                    state_machine.metric_succeeded(period=FIVE_MINUTES),
                    state_machine.metric_failed(period=FIVE_MINUTES),
                    state_machine.metric_timed_out(period=FIVE_MINUTES),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Step Functions Execution Time",
                left=[
                    state_machine.metric_time(period=FIVE_MINUTES, statistic="Average"),
                    state_machine.metric_time(period=FIVE_MINUTES, statistic="p90"),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="DynamoDB Read/Write Capacity",
                left=[t.metric_consumed_read_capacity_units(period=FIVE_MINUTES) for t in tables],
                right=[t.metric_consumed_write_capacity_units(period=FIVE_MINUTES) for t in tables],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="S3 Bucket Size",
                left=[
                    cw.Metric(
                        namespace="AWS/S3",
                        metric_name="BucketSizeBytes",
                        dimensions_map={"BucketName": bucket.bucket_name, "StorageType": "StandardStorage"},
                        statistic="Average",
                        period=cdk.Duration.days(1),
                    )
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="API Gateway Requests",
                left=[api.metric_count(period=FIVE_MINUTES)],
                right=[api.metric_client_error(period=FIVE_MINUTES), api.metric_server_error(period=FIVE_MINUTES)],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Bedrock Usage (TwelveLabs)",
                left=[bedrock_search("BedrockInvocations", "invocations")],
                right=[bedrock_search("BedrockVideoSeconds", "video seconds")],
                width=12,
            ),
            cw.GraphWidget(
                title="Bedrock Token Usage",
                left=[
                    bedrock_search("BedrockInputTokens", "input tokens"),
                    bedrock_search("BedrockOutputTokens", "output tokens"),
                ],
                width=12,
            ),
        )
        self.alarms = self._alarms(state_machine, all_functions, pegasus, marengo)

    def _alarms(
        self,
        state_machine: sfn.StateMachine,
        all_functions: Sequence[lambda_.Function],
        pegasus: lambda_.Function,
        marengo: lambda_.Function,
    ) -> dict[str, cw.AlarmBase]:
        failure_rate = cw.MathExpression(
            expression="IF(started > 0, 100 * failed / started, 0)",
            using_metrics={
                "started": state_machine.metric_started(period=FIVE_MINUTES),
                "failed": state_machine.metric_failed(period=FIVE_MINUTES),
            },
            label="failed executions (%)",
            period=FIVE_MINUTES,
        )
        sfn_alarm = failure_rate.create_alarm(
            self,
            "StepFunctionsHighFailureRate",
            alarm_name=self._alarm_prefix + "StepFunctionsHighFailureRate",
            alarm_description="More than 5% of video analysis executions failed in 5 minutes",
            threshold=5,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        # A metric-math alarm takes at most 10 metrics, so each function gets its own error-rate
        # alarm and LambdaHighErrorRate is their composite: one alarm to route, exact per stack.
        per_function: list[cw.IAlarm] = []
        for function in all_functions:
            rate = cw.MathExpression(
                expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                using_metrics={
                    "invocations": function.metric_invocations(period=FIVE_MINUTES),
                    "errors": function.metric_errors(period=FIVE_MINUTES),
                },
                label="errors (%)",
                period=FIVE_MINUTES,
            )
            name = function.node.scope.node.id if function.node.scope else function.node.id
            per_function.append(
                rate.create_alarm(
                    self,
                    f"ErrorRate{name}",
                    alarm_description=f"{name}: more than 10% of invocations failed in 5 minutes",
                    threshold=10,
                    evaluation_periods=1,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                )
            )
        lambda_alarm = cw.CompositeAlarm(
            self,
            "LambdaHighErrorRate",
            composite_alarm_name=self._alarm_prefix + "LambdaHighErrorRate",
            alarm_description="Some milkmobs function has an error rate above 10%",
            alarm_rule=cw.AlarmRule.any_of(*per_function),
        )
        alarms: dict[str, cw.AlarmBase] = {
            "StepFunctionsHighFailureRate": sfn_alarm,
            "LambdaHighErrorRate": lambda_alarm,
        }
        for alarm_name, function in (("AnalysisPegasusErrors", pegasus), ("AnalysisMarengoErrors", marengo)):
            alarms[alarm_name] = function.metric_errors(period=FIVE_MINUTES).create_alarm(
                self,
                alarm_name,
                alarm_name=self._alarm_prefix + alarm_name,
                alarm_description=f"{alarm_name}: the Lambda failed at least once in 5 minutes",
                threshold=1,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            )
        if self.topic is not None:
            action = cw_actions.SnsAction(self.topic)
            for alarm in alarms.values():
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
        return alarms

    def watch(self, name: str, alarm: cw.AlarmBase) -> None:
        """Route another construct's alarm like the seed's (its notifications go to the same topic)."""
        self.alarms[name] = alarm
        if self.topic is not None:
            action = cw_actions.SnsAction(self.topic)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

    def _topic(self, email: str) -> sns.Topic:
        # CloudWatch can only publish to an encrypted topic whose key lets it in: the AWS-managed
        # alias/aws/sns key does not, so the topic gets its own rotating key.
        key = kms.Key(self, "AlarmTopicKey", enable_key_rotation=True, description="milkmobs alarm topic")
        key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        topic = sns.Topic(self, "AlarmTopic", display_name="milkmobs alarms", master_key=key, enforce_ssl=True)
        topic.add_subscription(subs.EmailSubscription(email))
        return topic
