"""Storage: the media bucket, its access-log bucket, and the two DynamoDB tables.

Keys and indexes are exactly those of ``docs/data-model.md`` (the AWS adapters' contract).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from milkmobs.adapters.aws.dynamodb_videos import EXPIRES_AT_ATTRIBUTE, INDEX_PROJECTED_ATTRIBUTES

# docs/data-model.md: every list is a Query on one of these, newest first by createdKey.
VIDEO_INDEXES: tuple[tuple[str, str], ...] = (("byUser", "userId"), ("byStatus", "status"), ("byMob", "mobId"))
VIDEO_SORT_KEY = "createdKey"
# The adapter decides what its list queries read (the record and its embedding: batch re-clustering
# pages validated videos through byStatus); the table must project exactly that.
VIDEO_INDEX_PROJECTED: tuple[str, ...] = INDEX_PROJECTED_ATTRIBUTES


def private_bucket(
    scope: Construct, construct_id: str, *, removal_policy: cdk.RemovalPolicy, **props: Any
) -> s3.Bucket:
    """A bucket as every bucket of the stack is: encrypted, never public, TLS only; emptied when the
    stack deletes it (removal policy DESTROY), kept with its objects otherwise. ``props``: the rest."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        removal_policy=removal_policy,
        auto_delete_objects=removal_policy == cdk.RemovalPolicy.DESTROY,
        **props,
    )


class MediaStorage(Construct):
    """The versioned, private media bucket (videos, thumbnails, Marengo output) and its log bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cors_origins: Sequence[str],
        removal_policy: cdk.RemovalPolicy,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # One bucket receives S3 server access logs and CloudFront standard logs; CloudFront
        # still writes with ACLs, hence BUCKET_OWNER_PREFERRED instead of enforced ownership.
        self.log_bucket = private_bucket(
            self,
            "AccessLogs",
            removal_policy=removal_policy,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(max(log_retention_days, 1)))],
        )
        self.bucket = private_bucket(
            self,
            "UploadsBucket",
            removal_policy=removal_policy,
            versioned=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/uploads/",
            # Browsers upload with a presigned POST straight to S3 and read through CloudFront.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=list(cors_origins),
                    allowed_headers=["*"],
                    exposed_headers=["ETag", "Location"],
                    max_age=3000,
                )
            ],
            lifecycle_rules=[
                # Deleted videos leave noncurrent versions only when a delete raced an upload;
                # do not keep them forever.
                s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(30)),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=cdk.Duration.days(1)),
            ],
        )


class DataTables(Construct):
    """The Videos table (three GSIs) and the Mobs table (one partition of centroids)."""

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        pitr = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
        # Data that is to be retained is also protected from an accidental DeleteTable.
        protect = removal_policy in (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        self.videos = dynamodb.TableV2(
            self,
            "VideosTable",
            partition_key=dynamodb.Attribute(name="videoId", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            # the store sets it on pending_upload records only: an upload that never came expires
            time_to_live_attribute=EXPIRES_AT_ATTRIBUTE,
            point_in_time_recovery_specification=pitr,
            deletion_protection=protect,
            removal_policy=removal_policy,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=name,
                    partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name=VIDEO_SORT_KEY, type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.INCLUDE,
                    non_key_attributes=list(VIDEO_INDEX_PROJECTED),
                )
                for name, key in VIDEO_INDEXES
            ],
        )
        self.mobs = dynamodb.TableV2(
            self,
            "MobsTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="mobId", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=pitr,
            deletion_protection=protect,
            removal_policy=removal_policy,
        )
