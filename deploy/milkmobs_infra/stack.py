"""``MilkMobsStack``: builds each concern's construct and wires who may touch what."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from milkmobs.core.workflow import ANALYSIS_WORKFLOW
from milkmobs.settings import Backend, OpenSearchSettings, env_name
from milkmobs_infra import permissions, sizing
from milkmobs_infra.api import MilkMobsApi
from milkmobs_infra.config import DeployConfig
from milkmobs_infra.delivery import MediaDistribution
from milkmobs_infra.events import EventsAndSchedule, UncaughtExecutionEnds
from milkmobs_infra.failures import FailedInvocations
from milkmobs_infra.function_specs import (
    FUNCTION_SPECS,
    Executions,
    FunctionGroup,
    Model,
    Search,
    Trigger,
    the_one,
    using_model,
    with_trigger,
)
from milkmobs_infra.functions import INVOKED_BY_SETTING, LambdaFunctions
from milkmobs_infra.monitoring import Monitoring
from milkmobs_infra.nag import acknowledge_findings
from milkmobs_infra.regions import require_models_offered
from milkmobs_infra.search import VectorSearch, VideoIndex
from milkmobs_infra.storage import DataTables, MediaStorage
from milkmobs_infra.web import WebSite
from milkmobs_infra.workflow import AnalysisWorkflow

VIDEO_KEY_PREFIX, VIDEO_KEY_SUFFIX = "vid_", ".mp4"
CLOUDFRONT_ORIGINS = "https://*.cloudfront.net"  # docs/data-model.md: videos are vid_<id>.mp4
#: Triggers that invoke a function asynchronously: Lambda retries twice, then drops the event
#: unless it has an on-failure destination.
ASYNC_TRIGGERS = frozenset({Trigger.UPLOAD, Trigger.INVOKED, Trigger.SCHEDULE, Trigger.SWEEP, Trigger.EXECUTION_END})


class MilkMobsStack(cdk.Stack):
    """Every component of the seed architecture, secured and observable."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        p = config.name_prefix
        # The published upload page posts straight to the bucket from the distribution's origin, which
        # the bucket cannot name (the distribution is made from the bucket: a cycle); any CloudFront
        # origin may send the form, and only a form signed by create-upload is accepted.
        upload_origins = config.cors_origins
        if "*" not in upload_origins:
            upload_origins = (*upload_origins, CLOUDFRONT_ORIGINS)
        storage = MediaStorage(
            self,
            "Storage",
            cors_origins=upload_origins,
            removal_policy=config.removal_policy,
            log_retention_days=config.log_retention_days,
        )
        tables = DataTables(self, "Tables", removal_policy=config.removal_policy)
        web = WebSite(self, "Web", log_bucket=storage.log_bucket, removal_policy=config.removal_policy)
        delivery = MediaDistribution(
            self,
            "Delivery",
            bucket=storage.bucket,
            log_bucket=storage.log_bucket,
            cors_origins=config.cors_origins,
            pages_bucket=web.bucket,
            folder_index=web.folder_index,
            pages_headers=web.headers,
        )
        search = VectorSearch(
            self,
            "Search",
            domain_name=f"{p}-videos",
            engine_version=config.opensearch_engine_version,
            instance_type=config.opensearch_instance_type,
            data_nodes=config.opensearch_data_nodes,
            volume_gb=sizing.volume_for(config),
            removal_policy=config.removal_policy,
            log_retention_days=config.log_retention_days,
        )
        # Cursors are HMAC-signed with this secret (tamper-evident pagination).
        cursor_secret = secretsmanager.Secret(
            self,
            "CursorSecret",
            description="milkmobs: HMAC key of pagination cursors (MILKMOBS_AWS__CURSOR_SECRET_ID names it)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
            removal_policy=config.removal_policy,
        )
        bedrock_region = config.bedrock_region or self.region
        require_models_offered(
            self,
            region=bedrock_region,
            stack_region=self.region,
            model_ids=(config.pegasus_model_id, config.marengo_model_id),
        )
        index_prefix = str(
            config.settings_overrides.get(
                "opensearch.index_prefix", OpenSearchSettings.model_fields["index_prefix"].default
            )
        )
        # Every setting the stack knows; each function's environment keeps only those it reads.
        settings_values: dict[str, Any] = {
            "backend": Backend.AWS.value,
            "aws.region": self.region,
            "aws.videos_table": tables.videos.table_name,
            "aws.mobs_table": tables.mobs.table_name,
            "aws.media_bucket": storage.bucket.bucket_name,
            "aws.media_bucket_owner": self.account,
            "aws.cloudfront_domain": delivery.domain_name,
            "aws.cloudfront_distribution_id": delivery.distribution.distribution_id,
            "opensearch.endpoint": search.endpoint,
            "models.pegasus_model_id": config.pegasus_model_id,
            "models.marengo_model_id": config.marengo_model_id,
            "models.bedrock_region": bedrock_region,
            "models.embedding_dimension": config.embedding_dimension,
            # The secret's ARN: a function that lists videos reads the key at its first list (never in the env).
            "aws.cursor_secret_id": cursor_secret.secret_arn,
            # The API answers browsers on the published pages' origin only.
            "http.cors_origins": [delivery.site_origin],
            **config.settings_overrides,
        }
        functions = LambdaFunctions(
            self,
            "Functions",
            name_prefix=p,
            settings_values=settings_values,
            asset_mode=config.asset_mode,
            bytecode=config.bytecode,
            log_retention_days=config.log_retention_days,
            removal_policy=config.removal_policy,
        )
        fns = functions.functions
        if config.opensearch_expected_vectors is not None:  # every stored vector is a video to re-cluster
            batch = fns[the_one(Trigger.SCHEDULE).name]
            cfn_batch = batch.node.default_child
            assert isinstance(cfn_batch, lambda_.CfnFunction)
            cfn_batch.memory_size = sizing.batch_memory_mb(
                config.opensearch_expected_vectors, floor_mb=int(cfn_batch.memory_size or 512)
            )
        alarm_prefix = "" if p == "milkmobs" else f"{p}-"
        failures = FailedInvocations(self, "FailedInvocations", alarm_name_prefix=alarm_prefix)
        # Every function something invokes asynchronously: S3, EventBridge rules, another function.
        for spec in FUNCTION_SPECS:
            if set(spec.triggers) & ASYNC_TRIGGERS:
                failures.route(fns[spec.name])
        bus_and_schedule = EventsAndSchedule(
            self,
            "Events",
            batch_clustering=fns[the_one(Trigger.SCHEDULE).name],
            sweep=fns[the_one(Trigger.SWEEP).name],
            dead_letter_queue=failures.queue,
        )
        workflow = AnalysisWorkflow(
            self,
            "Workflow",
            definition=ANALYSIS_WORKFLOW,
            functions=fns,
            event_bus=bus_and_schedule.bus,
            state_machine_name=f"{p}-{ANALYSIS_WORKFLOW.name}",
            log_retention_days=config.log_retention_days,
            removal_policy=config.removal_policy,
        )
        state_machine = workflow.state_machine
        UncaughtExecutionEnds(
            self,
            "UncaughtExecutionEnds",
            state_machine_arn=state_machine.state_machine_arn,
            mark_failed=fns[the_one(Trigger.EXECUTION_END).name],
            dead_letter_queue=failures.queue,
        )
        granted = permissions.Granted(
            videos=tables.videos,
            mobs=tables.mobs,
            bucket=storage.bucket,
            cursor_secret=cursor_secret,
            state_machine=state_machine,
            executions_arn_prefix=self.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{p}-{ANALYSIS_WORKFLOW.name}",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            ),
            functions=fns,
            distribution_arn=self.format_arn(
                service="cloudfront",
                region="",
                resource="distribution",
                resource_name=delivery.distribution.distribution_id,
            ),
            # Built from the name: the domain's own ARN attribute would make it depend on its policy.
            domain_arn=self.format_arn(service="es", resource="domain", resource_name=search.domain_name),
            index_pattern=f"{index_prefix}*",
            pegasus_model_id=config.pegasus_model_id,
            marengo_model_id=config.marengo_model_id,
            bedrock_region=bedrock_region,
        )
        for spec in FUNCTION_SPECS:
            function = fns[spec.name]
            permissions.grant(spec, function, granted)
            if spec.search is not Search.NONE:
                search.allow(
                    functions.roles[spec.name],
                    [
                        (actions, permissions.search_paths(paths, granted))
                        for actions, paths in permissions.search_grants(spec.search)
                    ],
                )
            # Names made after the functions: added to the environment of those that read them.
            if spec.executions is not Executions.NONE:
                function.add_environment(env_name("aws.state_machine_arn"), state_machine.state_machine_arn)
            for target in spec.invokes:
                function.add_environment(env_name(INVOKED_BY_SETTING[target]), fns[target].function_name)
        for spec in with_trigger(Trigger.UPLOAD):
            storage.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(fns[spec.name]),
                s3.NotificationKeyFilter(prefix=VIDEO_KEY_PREFIX, suffix=VIDEO_KEY_SUFFIX),
            )
        self.video_index = VideoIndex(
            self,
            "VideoIndex",
            handler=fns[the_one(Trigger.CUSTOM_RESOURCE).name],
            properties={
                "IndexPrefix": index_prefix,
                "EmbeddingModel": config.marengo_model_id,
                "Dimension": str(config.embedding_dimension or "model"),
            },
            log_retention_days=config.log_retention_days,
            removal_policy=config.removal_policy,
        )
        api = MilkMobsApi(
            self,
            "Api",
            functions=fns,
            cors_origins=[delivery.site_origin],
            admin_page_url=f"{delivery.site_origin}/admin/",
            cognito_domain_prefix=config.admin_domain_prefix or f"{p}-admin-{self.account}",
            stage_name=config.api_stage,
            throttle_rate=config.api_throttle_rate,
            throttle_burst=config.api_throttle_burst,
            log_retention_days=config.log_retention_days,
            removal_policy=config.removal_policy,
        )
        web.publish(
            distribution=delivery.distribution,
            api_url=api.url,
            cognito_domain=api.domain.base_url(),
            cognito_client_id=api.client.user_pool_client_id,
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            dashboard_name="MilkMobsSystemHealth" if p == "milkmobs" else f"MilkMobsSystemHealth-{p}",
            alarm_name_prefix=alarm_prefix,
            analysis_functions=functions.group(FunctionGroup.ANALYSIS),
            all_functions=list(fns.values()),
            pegasus=fns[using_model(Model.PEGASUS).name],
            marengo=fns[using_model(Model.MARENGO).name],
            state_machine=state_machine,
            tables=[tables.videos, tables.mobs],
            bucket=storage.bucket,
            api=api.api,
            alarm_email=config.alarm_email,
        )
        monitoring.watch("AsyncInvocationFailures", failures.alarm)
        self.storage, self.tables, self.delivery, self.search = storage, tables, delivery, search
        self.functions, self.workflow, self.api, self.monitoring = functions, workflow, api, monitoring
        self.events = bus_and_schedule
        self.web = web
        self.failures = failures
        self.cursor_secret = cursor_secret
        self.index_prefix = index_prefix
        self._outputs()
        acknowledge_findings(self)

    def _outputs(self) -> None:
        fns = self.functions.functions
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the milkmobs API")
        cdk.CfnOutput(self, "MediaDomain", value=self.delivery.domain_name, description="CloudFront domain")
        cdk.CfnOutput(
            self,
            "SiteUrl",
            value=f"{self.delivery.site_origin}/",
            description="The consumer app (the admin dashboard is at /admin/)",
        )
        cdk.CfnOutput(
            self,
            "AdminSignInDomain",
            value=self.api.domain.base_url(),
            description="Cognito hosted UI of the admin dashboard",
        )
        cdk.CfnOutput(self, "MediaBucket", value=self.storage.bucket.bucket_name)
        cdk.CfnOutput(self, "VideosTable", value=self.tables.videos.table_name)
        cdk.CfnOutput(self, "MobsTable", value=self.tables.mobs.table_name)
        cdk.CfnOutput(self, "StateMachineArn", value=self.workflow.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "OpenSearchEndpoint", value=self.search.endpoint)
        cdk.CfnOutput(self, "AdminUserPoolId", value=self.api.user_pool.user_pool_id)
        cdk.CfnOutput(self, "AdminUserPoolClientId", value=self.api.client.user_pool_client_id)
        cdk.CfnOutput(self, "StartAnalysisFunction", value=fns[the_one(Trigger.UPLOAD).name].function_name)
