"""The table definitions of docs/data-model.md as CreateTable requests.

Production tables come from the CDK app in ``deploy/``; these requests build the same tables
for moto-backed tests, benchmarks and throw-away environments, so the adapters are always
exercised against exactly the documented design.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milkmobs.adapters.aws.dynamodb_videos import (
    EXPIRES_AT_ATTRIBUTE,
    INDEX_BY_MOB,
    INDEX_BY_STATUS,
    INDEX_BY_USER,
    INDEX_PROJECTED_ATTRIBUTES,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import CreateTableInputTypeDef, GlobalSecondaryIndexTypeDef


def _video_index(name: str, partition: str) -> GlobalSecondaryIndexTypeDef:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": "createdKey", "KeyType": "RANGE"},
        ],
        # lists return whole videos (the batch re-clustering reads every validated embedding from byStatus)
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(INDEX_PROJECTED_ATTRIBUTES)},
    }


def videos_table_request(table_name: str) -> CreateTableInputTypeDef:
    """CreateTable input of the videos table (key ``videoId``; GSIs byUser, byStatus, byMob)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "videoId", "AttributeType": "S"},
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "mobId", "AttributeType": "S"},
            {"AttributeName": "createdKey", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "videoId", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            _video_index(INDEX_BY_USER, "userId"),
            _video_index(INDEX_BY_STATUS, "status"),
            _video_index(INDEX_BY_MOB, "mobId"),
        ],
    }


def mobs_table_request(table_name: str) -> CreateTableInputTypeDef:
    """CreateTable input of the mobs table (partition ``pk`` = "MOB", sort key ``mobId``)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "mobId", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "mobId", "KeyType": "RANGE"},
        ],
    }


def create_tables(client: DynamoDBClient, *, videos_table: str, mobs_table: str) -> None:
    """Create both tables and wait until they are active."""
    client.create_table(**videos_table_request(videos_table))
    client.create_table(**mobs_table_request(mobs_table))
    waiter = client.get_waiter("table_exists")
    for name in (videos_table, mobs_table):
        waiter.wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    client.update_time_to_live(
        TableName=videos_table, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_AT_ATTRIBUTE}
    )
