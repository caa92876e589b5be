"""``DynamoDBClaimStore``: claims as items of the videos table, under a reserved id prefix.

A claim item's ``videoId`` is ``_claim#`` + the SHA-256 of its scope and key (bounded, and never a
video id: those are ``[A-Za-z0-9_-]``). It carries none of the indexed attributes, so no list query
sees it. Taking a claim is one ``UpdateItem`` with ``if_not_exists``: atomic, and it answers the
winner either way.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws.errors import common_translation, error_code, transport_error
from milkmobs.ports import Claim

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CLAIM_ID_PREFIX = "_claim#"
_FIRST_WINS = "SET claimDoc = if_not_exists(claimDoc, :doc), claimVideoId = if_not_exists(claimVideoId, :vid)"


def claim_item_id(scope: str, key: str) -> str:
    return CLAIM_ID_PREFIX + hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()


class DynamoDBClaimStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def claim(self, claim: Claim) -> Claim:
        doing = f"claiming {claim.scope} for video {claim.video_id}"
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"videoId": {"S": claim_item_id(claim.scope, claim.key)}},
                UpdateExpression=_FIRST_WINS,
                ExpressionAttributeValues={":doc": {"S": claim.model_dump_json()}, ":vid": {"S": claim.video_id}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            raise common_translation(exc, doing=f"{doing} (table {self._table})", video_id=claim.video_id) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=doing, video_id=claim.video_id) from exc
        return Claim.model_validate(json.loads(response["Attributes"]["claimDoc"]["S"]))

    def get(self, scope: str, key: str) -> Claim | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key={"videoId": {"S": claim_item_id(scope, key)}}, ConsistentRead=True
            )
        except ClientError as exc:
            raise common_translation(exc, doing=f"reading a claim in {scope} (table {self._table})") from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"reading a claim in {scope}") from exc
        item = response.get("Item")
        return Claim.model_validate(json.loads(item["claimDoc"]["S"])) if item and "claimDoc" in item else None

    def release(self, scope: str, key: str, *, video_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"videoId": {"S": claim_item_id(scope, key)}},
                ConditionExpression="claimVideoId = :vid",
                ExpressionAttributeValues={":vid": {"S": video_id}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return  # taken over, or already gone: nothing of ours to release
            raise common_translation(exc, doing=f"releasing a claim in {scope} (table {self._table})") from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"releasing a claim in {scope}") from exc
