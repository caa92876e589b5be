"""``MilkMobsStack``: builds each concern's construct and wires who may touch what."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from milkmobs.core.workflow import ANALYSIS_WORKFLOW
from milkmobs.domain.events import EVENT_BUS_NAME
from milkmobs.settings import Backend, Settings
from milkmobs_infra import permissions
from milkmobs_infra.api import MilkMobsApi
from milkmobs_infra.config import DeployConfig
from milkmobs_infra.delivery import MediaDistribution
from milkmobs_infra.events import EventsAndSchedule, UncaughtExecutionEnds
from milkmobs_infra.function_specs import FunctionGroup
from milkmobs_infra.functions import LambdaFunctions, settings_environment
from milkmobs_infra.monitoring import Monitoring
from milkmobs_infra.nag import acknowledge_findings
from milkmobs_infra.search import VectorSearch, VideoIndex
from milkmobs_infra.storage import DataTables, MediaStorage
from milkmobs_infra.workflow import AnalysisWorkflow

VIDEO_KEY_PREFIX, VIDEO_KEY_SUFFIX = "vid_", ".mp4"  # docs/data-model.md: videos are vid_<id>.mp4
THUMBNAIL_KEYS = "thumbnails/*"
EMBEDDING_KEYS = "embeddings/*"


class MilkMobsStack(cdk.Stack):
    """Every component of the seed architecture, secured and observable."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        p = config.name_prefix
        storage = MediaStorage(
            self, "Storage", cors_origins=config.cors_origins, removal_policy=config.removal_policy,
            log_retention_days=config.log_retention_days,
        )
        tables = DataTables(self, "Tables", removal_policy=config.removal_policy)
        delivery = MediaDistribution(
            self, "Delivery", bucket=storage.bucket, log_bucket=storage.log_bucket, cors_origins=config.cors_origins
        )
        search = VectorSearch(
            self, "Search",
            domain_name=f"{p}-videos",
            engine_version=config.opensearch_engine_version,
            instance_type=config.opensearch_instance_type,
            data_nodes=config.opensearch_data_nodes,
            volume_gb=config.opensearch_volume_gb,
            removal_policy=config.removal_policy,
            log_retention_days=config.log_retention_days,
        )
        # Cursors are HMAC-signed with this secret (tamper-evident pagination).
        cursor_secret = secretsmanager.Secret(
            self, "CursorSecret",
            description="milkmobs: HMAC key of pagination cursors (MILKMOBS_CURSOR_SECRET)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
            removal_policy=config.removal_policy,
        )
        bedrock_region = config.bedrock_region or self.region
        index_prefix = str(config.settings_overrides.get(
            "opensearch_index_prefix", Settings.model_fields["opensearch_index_prefix"].default
        ))
        settings_values: dict[str, Any] = {
            "backend": Backend.AWS.value,
            "aws_region": self.region,
            "videos_table": tables.videos.table_name,
            "mobs_table": tables.mobs.table_name,
            "media_bucket": storage.bucket.bucket_name,
            "media_bucket_owner": self.account,
            "cloudfront_domain": delivery.domain_name,
            "event_bus_name": EVENT_BUS_NAME,
            "opensearch_endpoint": search.endpoint,
            "pegasus_model_id": config.pegasus_model_id,
            "marengo_model_id": config.marengo_model_id,
            "bedrock_region": bedrock_region,
            "embedding_dimension": config.embedding_dimension,
            # A dynamic reference: the template holds a pointer to the secret, CloudFormation resolves it.
            "cursor_secret": cursor_secret.secret_value.unsafe_unwrap(),
            "cors_origins": list(config.cors_origins),
            **config.settings_overrides,
        }
        functions = LambdaFunctions(
            self, "Functions",
            name_prefix=p,
            environment=settings_environment(settings_values),
            asset_mode=config.asset_mode,
            log_retention_days=config.log_retention_days,
            removal_policy=config.removal_policy,
        )
        fns = functions.functions
        bus_and_schedule = EventsAndSchedule(self, "Events", batch_clustering=fns["cluster-embeddings"])
        workflow = AnalysisWorkflow(
            self, "Workflow",
            definition=ANALYSIS_WORKFLOW,
            functions=fns,
            event_bus=bus_and_schedule.bus,
            state_machine_name=f"{p}-{ANALYSIS_WORKFLOW.name}",
            log_retention_days=config.log_retention_days,
            removal_policy=config.removal_policy,
        )
        state_machine = workflow.state_machine
        UncaughtExecutionEnds(
            self, "UncaughtExecutionEnds",
            state_machine_arn=state_machine.state_machine_arn,
            mark_failed=fns["analysis-mark-failed"],
        )
        self._grant(functions, tables, storage.bucket, search, bedrock_region=bedrock_region,
                    index_prefix=index_prefix)
        for name in ("start-analysis", "get-execution-history"):
            fns[name].add_environment("MILKMOBS_STATE_MACHINE_ARN", state_machine.state_machine_arn)
        state_machine.grant_start_execution(fns["start-analysis"])
        for statement in permissions.execution_read_statements(
            f"arn:{self.partition}:states:{self.region}:{self.account}:execution:{p}-{ANALYSIS_WORKFLOW.name}",
        ):
            fns["get-execution-history"].add_to_role_policy(statement)
        # start-analysis asks generate-thumbnail for a thumbnail asynchronously (seed: Async Invocation).
        fns["generate-thumbnail"].grant_invoke(fns["start-analysis"])
        fns["start-analysis"].add_environment(
            "MILKMOBS_THUMBNAIL_FUNCTION_NAME", fns["generate-thumbnail"].function_name
        )
        storage.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(fns["start-analysis"]),
            s3.NotificationKeyFilter(prefix=VIDEO_KEY_PREFIX, suffix=VIDEO_KEY_SUFFIX),
        )
        self.video_index = VideoIndex(
            self, "VideoIndex",
            handler=fns["create-opensearch-index"],
            properties={
                "IndexPrefix": index_prefix,
                "EmbeddingModel": config.marengo_model_id,
                "Dimension": str(config.embedding_dimension or "model"),
            },
            log_retention_days=config.log_retention_days,
        )
        api = MilkMobsApi(
            self, "Api",
            functions=fns,
            cors_origins=config.cors_origins,
            stage_name=config.api_stage,
            throttle_rate=config.api_throttle_rate,
            throttle_burst=config.api_throttle_burst,
            log_retention_days=config.log_retention_days,
            removal_policy=config.removal_policy,
        )
        monitoring = Monitoring(
            self, "Monitoring",
            dashboard_name="MilkMobsSystemHealth" if p == "milkmobs" else f"MilkMobsSystemHealth-{p}",
            alarm_name_prefix="" if p == "milkmobs" else f"{p}-",
            analysis_functions=functions.group(FunctionGroup.ANALYSIS),
            all_functions=list(fns.values()),
            pegasus=fns["analysis-pegasus"],
            marengo=fns["analysis-marengo"],
            state_machine=state_machine,
            tables=[tables.videos, tables.mobs],
            bucket=storage.bucket,
            api=api.api,
            alarm_email=config.alarm_email,
        )
        self.storage, self.tables, self.delivery, self.search = storage, tables, delivery, search
        self.functions, self.workflow, self.api, self.monitoring = functions, workflow, api, monitoring
        self.events = bus_and_schedule
        self.cursor_secret = cursor_secret
        self.index_prefix = index_prefix
        self._outputs()
        acknowledge_findings(self)

    def _grant(
        self,
        functions: LambdaFunctions,
        tables: DataTables,
        bucket: s3.IBucket,
        search: VectorSearch,
        *,
        bedrock_region: str,
        index_prefix: str,
    ) -> None:
        """Least privilege, function by function (the seed's connection list, plus what our core needs)."""
        f = functions.functions
        videos, mobs = tables.videos, tables.mobs
        read_videos = ["list-user-videos", "get-video-detail", "get-feed", "get-mob", "search-similar",
                       "admin-list-videos", "admin-get-stats", "get-execution-history", "admin-get-mob-map"]
        write_videos = ["create-upload", "admin-delete-video", "start-analysis", "generate-thumbnail",
                        "analysis-mark-processing", "analysis-pegasus", "analysis-marengo", "analysis-write-result",
                        "validate-video", "cluster-video", "analysis-mark-failed", "cluster-embeddings"]
        read_mobs = ["get-feed", "list-mobs", "get-mob", "admin-get-stats", "search-similar", "get-video-detail",
                     "list-user-videos", "admin-list-videos"]
        # validate-video too: POST /validate moves a video that now passes into a mob (or out of one)
        write_mobs = ["admin-delete-video", "cluster-video", "cluster-embeddings", "analysis-mark-failed",
                      "validate-video"]
        for name in read_videos:
            videos.grant_read_data(f[name])
        for name in write_videos:
            videos.grant_read_write_data(f[name])
        for name in read_mobs:
            mobs.grant_read_data(f[name])
        for name in write_mobs:
            mobs.grant_read_write_data(f[name])
        # Media, with exact actions on exact key patterns (the L2 grants add wildcard actions).
        # CloudFront serves every read URL, so the API read functions need no S3 access at all.
        videos_keys, thumbs, embeddings = f"{VIDEO_KEY_PREFIX}*{VIDEO_KEY_SUFFIX}", THUMBNAIL_KEYS, EMBEDDING_KEYS
        media: dict[str, list[tuple[tuple[str, ...], str]]] = {
            # presigned POSTs are signed by this role, so it may put videos, nothing else
            "create-upload": [(("s3:PutObject",), videos_keys)],
            # head_object needs ListBucket to tell "missing" (404) from "forbidden" (403)
            "start-analysis": [(("s3:GetObject",), videos_keys), (("s3:ListBucket",), "")],
            "analysis-mark-processing": [(("s3:GetObject",), videos_keys), (("s3:ListBucket",), "")],
            "generate-thumbnail": [(("s3:GetObject",), videos_keys), (("s3:PutObject", "s3:GetObject"), thumbs)],
            # Bedrock reads the video, and writes Marengo's job output, with the caller's permissions
            "analysis-pegasus": [(("s3:GetObject",), videos_keys), (("s3:ListBucket",), "")],
            "analysis-marengo": [(("s3:GetObject",), videos_keys),
                                 (("s3:PutObject", "s3:GetObject"), embeddings), (("s3:ListBucket",), "")],
            # every version and delete marker of the video and its thumbnail
            "admin-delete-video": [
                (("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject"), videos_keys),
                (("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject"), thumbs),
                (("s3:ListBucket", "s3:ListBucketVersions"), ""),
            ],
        }
        for name, rules in media.items():
            for actions, pattern in rules:
                resource = bucket.arn_for_objects(pattern) if pattern else bucket.bucket_arn
                f[name].add_to_role_policy(iam.PolicyStatement(actions=list(actions), resources=[resource]))
        # Bedrock: each model only for its own function.
        for statement in permissions.pegasus_statements(
            self.config.pegasus_model_id, region=bedrock_region, account=self.account
        ):
            f["analysis-pegasus"].add_to_role_policy(statement)
        for statement in permissions.marengo_statements(
            self.config.marengo_model_id, region=bedrock_region, account=self.account
        ):
            f["analysis-marengo"].add_to_role_policy(statement)
        # GET /search/text embeds the query with Marengo (InvokeModel only; no async jobs, no S3).
        f["search-similar"].add_to_role_policy(
            permissions.text_embedding_statement(self.config.marengo_model_id, region=bedrock_region,
                                                 account=self.account)
        )
        for name in ("analysis-pegasus", "analysis-marengo", "search-similar"):
            f[name].add_to_role_policy(permissions.put_metrics_statement())
        f["admin-get-usage-stats"].add_to_role_policy(permissions.read_metrics_statement())
        # OpenSearch: the resource policy admits these roles; their own policies pick the verbs and
        # the paths — only this deployment's indexes (<prefix>video-embeddings), plus _bulk for writers.
        index_pattern = f"{index_prefix}*"
        domain = search.domain
        bulk = cdk.Stack.of(self).format_arn(
            service="es", resource="domain", resource_name=f"{search.domain_name}/_bulk"
        )
        writers = ("analysis-write-result", "validate-video", "cluster-video", "cluster-embeddings",
                   "analysis-mark-failed", "admin-delete-video", "create-opensearch-index")
        for name in writers:
            domain.grant_index_read_write(index_pattern, f[name])
            f[name].add_to_role_policy(iam.PolicyStatement(actions=["es:ESHttpPost", "es:ESHttpPut"],
                                                           resources=[bulk]))
        domain.grant_index_read(index_pattern, f["search-similar"])
        for name in (*writers, "search-similar"):
            role = f[name].role
            assert role is not None
            search.allow(role)

    def _outputs(self) -> None:
        fns = self.functions.functions
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the milkmobs API")
        cdk.CfnOutput(self, "MediaDomain", value=self.delivery.domain_name, description="CloudFront domain")
        cdk.CfnOutput(self, "MediaBucket", value=self.storage.bucket.bucket_name)
        cdk.CfnOutput(self, "VideosTable", value=self.tables.videos.table_name)
        cdk.CfnOutput(self, "MobsTable", value=self.tables.mobs.table_name)
        cdk.CfnOutput(self, "StateMachineArn", value=self.workflow.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "OpenSearchEndpoint", value=self.search.endpoint)
        cdk.CfnOutput(self, "AdminUserPoolId", value=self.api.user_pool.user_pool_id)
        cdk.CfnOutput(self, "AdminUserPoolClientId", value=self.api.client.user_pool_client_id)
        cdk.CfnOutput(self, "StartAnalysisFunction", value=fns["start-analysis"].function_name)

