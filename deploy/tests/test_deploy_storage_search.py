"""Storage, delivery and search resources and their key properties."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match
from deploy_support import CORS_ORIGIN, Synth, resolve
from milkmobs_infra.storage import VIDEO_INDEXES

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS managed cache policy id


def _media_bucket(synth: Synth) -> dict[str, Any]:
    buckets = [b for b in synth.resources("AWS::S3::Bucket").values() if "VersioningConfiguration" in b["Properties"]]
    assert len(buckets) == 1, "exactly one versioned (media) bucket"
    return buckets[0]["Properties"]


def test_media_bucket_is_private_encrypted_versioned_and_cors_enabled(synth: Synth) -> None:
    props = _media_bucket(synth)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["CorsConfiguration"]["CorsRules"]
    assert "POST" in rule["AllowedMethods"] and rule["AllowedOrigins"] == [CORS_ORIGIN, "https://*.cloudfront.net"]
    assert "LoggingConfiguration" in props


@pytest.mark.parametrize("which", ["destroyable", "retained"])
def test_every_bucket_is_encrypted_private_and_emptied_only_when_destroyable(
    synth: Synth, concrete_synth: Synth, which: str
) -> None:
    """Whatever bucket the stack grows: SSE, every public-access block, and CDK's auto-delete
    (which empties the bucket on stack deletion) exactly when the removal policy is destroy."""
    stack = synth if which == "destroyable" else concrete_synth
    buckets = stack.resources("AWS::S3::Bucket")
    assert len(buckets) >= 3  # logs, media, pages
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ] in ("AES256", "aws:kms"), name
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
        emptied = any(tag == {"Key": "aws-cdk:auto-delete-objects", "Value": "true"} for tag in props.get("Tags", []))
        assert emptied is (which == "destroyable"), name


def test_every_bucket_refuses_plain_http(synth: Synth) -> None:
    policies = synth.resources("AWS::S3::BucketPolicy").values()
    assert len(list(policies)) == 3  # logs, media, pages
    for policy in synth.resources("AWS::S3::BucketPolicy").values():
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_only_new_videos_start_the_analysis(synth: Synth, template: Any) -> None:
    (notifications,) = synth.resources("Custom::S3BucketNotifications").values()
    (config,) = notifications["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    rules = {r["Name"]: r["Value"] for r in config["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "vid_", "suffix": ".mp4"}
    target = config["LambdaFunctionArn"]["Fn::GetAtt"][0]
    assert synth.template["Resources"][target]["Properties"]["FunctionName"] == "milkmobs-start-analysis"


def test_videos_table_has_exactly_the_keys_and_indexes_of_the_data_model(synth: Synth) -> None:
    tables = {
        t["Properties"]["KeySchema"][0]["AttributeName"]: t["Properties"]
        for t in synth.resources("AWS::DynamoDB::GlobalTable").values()
    }
    assert set(tables) == {"videoId", "pk"}
    videos = tables["videoId"]
    assert videos["KeySchema"] == [{"AttributeName": "videoId", "KeyType": "HASH"}]
    assert videos["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in videos["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"byUser", "byStatus", "byMob"} == {name for name, _ in VIDEO_INDEXES}
    for name, partition in VIDEO_INDEXES:
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": "createdKey", "KeyType": "RANGE"},
        ]
        # docs/data-model.md: the record and its embedding, exactly what the DynamoDB adapter reads
        assert indexes[name]["Projection"] == {
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": ["doc", "embedding", "embeddingModelId"],
        }
    types = {a["AttributeName"]: a["AttributeType"] for a in videos["AttributeDefinitions"]}
    assert types == {"videoId": "S", "userId": "S", "status": "S", "mobId": "S", "createdKey": "S"}


def test_mobs_table_is_one_partition_of_centroids(synth: Synth) -> None:
    (mobs,) = [
        t["Properties"]
        for t in synth.resources("AWS::DynamoDB::GlobalTable").values()
        if t["Properties"]["KeySchema"][0]["AttributeName"] == "pk"
    ]
    assert mobs["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "mobId", "KeyType": "RANGE"},
    ]
    assert "GlobalSecondaryIndexes" not in mobs
    assert mobs["BillingMode"] == "PAY_PER_REQUEST"


def test_tables_have_point_in_time_recovery_and_the_removal_policy_prop(synth: Synth) -> None:
    for table in synth.resources("AWS::DynamoDB::GlobalTable").values():
        (replica,) = table["Properties"]["Replicas"]
        assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionPolicy"] == "Delete"  # the session's removalPolicy=destroy


def test_cloudfront_serves_the_bucket_through_origin_access_control(template: Any, synth: Synth) -> None:
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 2)
    template.resource_count_is("AWS::CloudFront::CloudFrontOriginAccessIdentity", 0)
    (distribution,) = synth.resources("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["Compress"] is True
    assert behavior["CachePolicyId"] == CACHING_OPTIMIZED
    assert len(config["Origins"]) == 2  # the pages' bucket and the media bucket (test_deploy_web.py)
    for origin in config["Origins"]:
        assert "OriginAccessControlId" in origin and origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert "Logging" in config


def test_opensearch_domain_is_encrypted_https_only_and_sized_by_props(template: Any) -> None:
    template.has_resource_properties(
        "AWS::OpenSearchService::Domain",
        {
            "EngineVersion": Match.string_like_regexp(r"^OpenSearch_(2\.(1[1-9]|[2-9]\d)|[3-9]\.\d+)$"),
            "ClusterConfig": Match.object_like(
                {"InstanceType": "t3.small.search", "InstanceCount": 1, "ZoneAwarenessEnabled": False}
            ),
            "EBSOptions": Match.object_like({"EBSEnabled": True, "VolumeSize": 20, "VolumeType": "gp3"}),
            "EncryptionAtRestOptions": {"Enabled": True},
            "NodeToNodeEncryptionOptions": {"Enabled": True},
            "DomainEndpointOptions": Match.object_like({"EnforceHTTPS": True}),
        },
    )


def _domain_grants(synth: Synth) -> dict[str, set[tuple[str, str]]]:
    """Per function: the (action, resource) pairs the domain's access policy admits."""
    (domain,) = synth.resources("AWS::OpenSearchService::Domain").values()
    functions = {
        props["Properties"]["Role"]["Fn::GetAtt"][0]: props["Properties"]["FunctionName"].removeprefix("milkmobs-")
        for props in synth.resources("AWS::Lambda::Function").values()
        if "FunctionName" in props["Properties"]
    }
    grants: dict[str, set[tuple[str, str]]] = {}
    for statement in domain["Properties"]["AccessPolicies"]["Statement"]:
        name = functions[statement["Principal"]["AWS"]["Fn::GetAtt"][0]]
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                grants.setdefault(name, set()).add((action, str(resolve(resource, {})).rpartition(":domain/")[2]))
    return grants


def test_opensearch_admits_each_role_only_to_what_it_declares(synth: Synth) -> None:
    grants = _domain_grants(synth)
    assert set(grants) == {
        "analysis-write-result",
        "validate-video",
        "cluster-video",
        "cluster-embeddings",
        "search-similar",
        "admin-delete-video",
        "analysis-mark-failed",
        "create-opensearch-index",
        "start-analysis",
        "admin-recluster",
        "sweep-stuck-videos",  # fails a video whose execution ended without it, which leaves the index
    }
    assert all(action.startswith("es:ESHttp") for pairs in grants.values() for action, _ in pairs)
    # readers search and read, nothing more
    assert {a for a, _ in grants["search-similar"]} == {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"}
    assert ("es:ESHttpPost", "milkmobs-videos/milkmobs-*/_search") in grants["search-similar"]
    # writers index documents; only the functions that remove videos may delete, and only documents
    assert ("es:ESHttpPut", "milkmobs-videos/milkmobs-*/_doc/*") in grants["cluster-video"]
    deleters = {name for name, pairs in grants.items() if any(a == "es:ESHttpDelete" for a, _ in pairs)}
    assert deleters == {"admin-delete-video", "analysis-mark-failed", "start-analysis", "sweep-stuck-videos"}
    assert all(r.endswith("/_doc/*") for pairs in grants.values() for a, r in pairs if a == "es:ESHttpDelete")
    # only the reader queries, only the batch re-clustering writes in bulk, deleters do not write
    search = ("es:ESHttpPost", "milkmobs-videos/milkmobs-*/_search")
    queriers = {name for name, pairs in grants.items() if search in pairs}
    assert queriers == {"search-similar"}
    bulk = {name for name, pairs in grants.items() if any(r == "milkmobs-videos/_bulk" for _, r in pairs)}
    assert bulk == {"cluster-embeddings", "admin-recluster"}
    assert not [n for n in deleters if ("es:ESHttpPut", "milkmobs-videos/milkmobs-*/_doc/*") in grants[n]]
    # only the custom resource may create the index itself
    creators = {name for name, pairs in grants.items() if ("es:ESHttpPut", "milkmobs-videos/milkmobs-*") in pairs}
    assert creators == {"create-opensearch-index"}


def test_functions_reach_only_this_deployments_indexes(synth: Synth) -> None:
    for policy in synth.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if not any(a.startswith("es:") for a in actions):
                continue
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for resource in resources:
                path = str(resolve(resource, {})).rpartition(":domain/")[2]
                assert path.startswith(("milkmobs-videos/milkmobs-*", "milkmobs-videos/_bulk")), path


def test_the_index_is_created_by_the_custom_resource_through_the_provider(synth: Synth) -> None:
    (index,) = synth.resources("Custom::OpenSearchIndex").values()
    provider_fn = index["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    env = synth.template["Resources"][provider_fn]["Properties"]["Environment"]["Variables"]
    user_fn = env["USER_ON_EVENT_FUNCTION_ARN"]["Fn::GetAtt"][0]
    assert synth.template["Resources"][user_fn]["Properties"]["FunctionName"] == "milkmobs-create-opensearch-index"


def test_media_cors_on_cloudfront_follows_the_configured_origins(synth: Synth) -> None:
    (policy,) = [p for p in synth.resources("AWS::CloudFront::ResponseHeadersPolicy").values()
                 if "CorsConfig" in p["Properties"]["ResponseHeadersPolicyConfig"]]  # fmt: skip
    cors = policy["Properties"]["ResponseHeadersPolicyConfig"]["CorsConfig"]
    assert cors["AccessControlAllowOrigins"] == {"Items": [CORS_ORIGIN]}
    assert cors["AccessControlAllowMethods"] == {"Items": ["GET", "HEAD", "OPTIONS"]}


def test_retained_tables_are_protected_from_deletion() -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from milkmobs_infra.storage import DataTables

    stack = cdk.Stack(cdk.App())
    DataTables(stack, "Tables", removal_policy=cdk.RemovalPolicy.RETAIN)
    for table in Template.from_stack(stack).find_resources("AWS::DynamoDB::GlobalTable").values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] is True
