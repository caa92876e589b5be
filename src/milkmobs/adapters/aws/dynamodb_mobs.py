"""DynamoDB ``MobStore``: every mob under one partition key (docs/data-model.md, mobs table)."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws.dynamodb_codec import from_attribute, number, to_attribute
from milkmobs.adapters.aws.errors import common_translation, error_code, transport_error
from milkmobs.domain import Mob
from milkmobs.domain.errors import (
    BackendUnavailableError,
    ConfigurationError,
    ConflictError,
    MilkmobsError,
    NotFoundError,
    VersionConflictError,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

MOB_PARTITION = "MOB"
_BATCH_GET_MAX = 100  # DynamoDB's limit on keys per BatchGetItem
_BATCH_GET_ATTEMPTS = 8  # unprocessed keys mean throttling: back off and ask again this many times
#: Rounds of the count's ADD-then-clamp while a concurrent writer keeps changing it (a version conflict).
COUNT_ATTEMPTS = 5


def _translate(exc: ClientError, *, table: str, doing: str) -> MilkmobsError:
    """The milkmobs error for a DynamoDB ClientError on the mobs table."""
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        return ConflictError(f"{doing}: the stored mob changed meanwhile (version clash); re-read and retry")
    if code == "ResourceNotFoundException":
        return ConfigurationError(
            f"{doing}: table '{table}' does not exist; deploy the stack or set MILKMOBS_AWS__MOBS_TABLE"
        )
    return common_translation(exc, doing=f"{doing} (table {table})")


def _centroid_bytes(mob: Mob) -> bytes:
    return np.asarray(mob.centroid, dtype="<f4").tobytes()


def _old_item(exc: ConflictError) -> dict[str, Any] | None:
    """The item a failed condition saw (``ReturnValuesOnConditionCheckFailure``), None if it was absent."""
    cause = exc.__cause__
    if isinstance(cause, ClientError):
        item: dict[str, Any] | None = cause.response.get("Item")  # type: ignore[assignment]
        return item or None
    return None


def _timestamp(moment: datetime) -> AttributeValueTypeDef:
    return {"S": moment.isoformat()}


class DynamoDBMobStore:
    """Mobs keyed ``(pk="MOB", mobId)``; every write bumps ``version``, the count changes by ADD."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _key(self, mob_id: str) -> dict[str, AttributeValueTypeDef]:
        return {"pk": {"S": MOB_PARTITION}, "mobId": {"S": mob_id}}

    @staticmethod
    def _from_item(item: Mapping[str, Any]) -> Mob:
        return Mob(
            mob_id=item["mobId"]["S"],
            name=item["name"]["S"],
            description=item.get("description", {"S": ""})["S"],
            centroid=np.frombuffer(bytes(item["centroid"]["B"]), dtype="<f4").astype(np.float32),
            video_count=int(item["videoCount"]["N"]),
            example_hashtags=from_attribute(item["exampleHashtags"]) if "exampleHashtags" in item else [],
            version=int(item["version"]["N"]),
            created_at=datetime.fromisoformat(item["createdAt"]["S"]),
            updated_at=datetime.fromisoformat(item["updatedAt"]["S"]),
        )

    def _call(self, doing: str, method: Any, **request: Any) -> Any:
        try:
            return method(**request)
        except ClientError as exc:
            raise _translate(exc, table=self._table, doing=doing) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=doing) from exc

    def add(self, mob: Mob) -> None:
        """Store a new mob; ConflictError if the id exists."""
        item: dict[str, AttributeValueTypeDef] = {
            **self._key(mob.mob_id),
            "name": {"S": mob.name},
            "description": {"S": mob.description},
            "centroid": {"B": _centroid_bytes(mob)},
            "videoCount": number(mob.video_count),
            "exampleHashtags": to_attribute(list(mob.example_hashtags)),
            "version": number(mob.version),
            "createdAt": _timestamp(mob.created_at),
            "updatedAt": _timestamp(mob.updated_at),
        }
        try:
            self._call(
                f"adding mob {mob.mob_id}",
                self._client.put_item,
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(mobId)",
            )
        except ConflictError as exc:
            raise ConflictError(f"mob {mob.mob_id} already exists") from exc

    def get(self, mob_id: str) -> Mob:
        """The mob (strongly consistent read); NotFoundError if unknown."""
        response = self._call(
            f"reading mob {mob_id}",
            self._client.get_item,
            TableName=self._table,
            Key=self._key(mob_id),
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise NotFoundError(f"mob {mob_id} does not exist")
        return self._from_item(response["Item"])

    def list_all(self) -> list[Mob]:
        """Every mob, largest first: one strongly consistent Query of the mob partition (paged by 1 MB)."""
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": MOB_PARTITION}},
            "ConsistentRead": True,
        }
        mobs: list[Mob] = []
        while True:
            response = self._call("listing mobs", self._client.query, **request)
            mobs.extend(self._from_item(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        mobs.sort(key=lambda mob: (-mob.video_count, mob.mob_id))
        return mobs

    def names(self, mob_ids: Collection[str]) -> dict[str, str]:
        """Names of the known mobs among ``mob_ids``: BatchGetItem (100 keys a call) projecting the id
        and name only, so no centroid is read; unprocessed keys are asked again after a back-off."""
        wanted = sorted(set(mob_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _BATCH_GET_MAX):
            pending: list[Any] = [self._key(mob_id) for mob_id in wanted[start : start + _BATCH_GET_MAX]]
            for attempt in range(_BATCH_GET_ATTEMPTS):
                response = self._call(
                    "reading mob names",
                    self._client.batch_get_item,
                    RequestItems={
                        self._table: {
                            "Keys": pending,
                            "ProjectionExpression": "mobId, #n",
                            "ExpressionAttributeNames": {"#n": "name"},
                            "ConsistentRead": True,
                        }
                    },
                )
                for item in response.get("Responses", {}).get(self._table, []):
                    found[item["mobId"]["S"]] = item["name"]["S"]
                pending = list(response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", []))
                if not pending:
                    break
                time.sleep(min(0.5, 0.01 * (2**attempt)))
            else:
                raise BackendUnavailableError(
                    f"reading mob names: DynamoDB kept {len(pending)} keys unprocessed (table {self._table}); "
                    "retry later"
                )
        return found

    def save(self, mob: Mob, *, expected_version: int) -> Mob:
        """Write the whole mob if the stored version is ``expected_version``; returns it at ``expected + 1``.

        This is the core's read-modify-write (centroid and count together). ``adjust_count`` also
        bumps the version, so a save based on a read from before a count change fails instead of
        overwriting that change.
        """
        doing = f"saving mob {mob.mob_id}"
        try:
            response = self._call(
                doing,
                self._client.update_item,
                TableName=self._table,
                Key=self._key(mob.mob_id),
                UpdateExpression=(
                    "SET #n = :name, description = :description, centroid = :centroid, videoCount = :count, "
                    "exampleHashtags = :tags, updatedAt = :updated, version = :next"
                ),
                ConditionExpression="attribute_exists(mobId) AND version = :expected",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={
                    ":name": {"S": mob.name},
                    ":description": {"S": mob.description},
                    ":centroid": {"B": _centroid_bytes(mob)},
                    ":count": number(mob.video_count),
                    ":tags": to_attribute(list(mob.example_hashtags)),
                    ":updated": _timestamp(mob.updated_at),
                    ":next": number(expected_version + 1),
                    ":expected": number(expected_version),
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConflictError as exc:
            old = _old_item(exc)
            if not old:
                raise NotFoundError(f"mob {mob.mob_id} does not exist") from exc
            raise VersionConflictError(
                f"mob {mob.mob_id} is at version {old['version']['N']}, not {expected_version}; re-read and retry"
            ) from exc
        return self._from_item(response["Attributes"])

    def adjust_count(self, mob_id: str, delta: int) -> Mob:
        """Atomically ``ADD delta`` to ``videoCount``, clamped at 0 (one UpdateItem in the common case)."""
        doing = f"changing the video count of mob {mob_id}"
        for _ in range(COUNT_ATTEMPTS):
            try:
                response = self._call(
                    doing,
                    self._client.update_item,
                    TableName=self._table,
                    Key=self._key(mob_id),
                    UpdateExpression="ADD videoCount :d, version :one",
                    # a decrement only applies while it keeps the count >= 0
                    ConditionExpression="attribute_exists(mobId) AND videoCount >= :need",
                    ExpressionAttributeValues={":d": number(delta), ":need": number(max(0, -delta)), ":one": number(1)},
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return self._from_item(response["Attributes"])
            except ConflictError as exc:
                if not _old_item(exc):
                    raise NotFoundError(f"mob {mob_id} does not exist") from exc
            try:  # the decrement would go below zero: set 0, conditioned on the count still being too small
                response = self._call(
                    doing,
                    self._client.update_item,
                    TableName=self._table,
                    Key=self._key(mob_id),
                    UpdateExpression="SET videoCount = :zero ADD version :one",
                    ConditionExpression="attribute_exists(mobId) AND videoCount < :need",
                    ExpressionAttributeValues={":zero": number(0), ":need": number(-delta), ":one": number(1)},
                    ReturnValues="ALL_NEW",
                )
                return self._from_item(response["Attributes"])
            except ConflictError:
                continue  # the count grew or the mob vanished meanwhile: try the ADD again
        raise ConflictError(f"{doing}: the count kept changing; retry")

    def delete(self, mob_id: str) -> None:
        """Remove the mob; NotFoundError if unknown."""
        try:
            self._call(
                f"deleting mob {mob_id}",
                self._client.delete_item,
                TableName=self._table,
                Key=self._key(mob_id),
                ConditionExpression="attribute_exists(mobId)",
            )
        except ConflictError as exc:
            raise NotFoundError(f"mob {mob_id} does not exist") from exc
