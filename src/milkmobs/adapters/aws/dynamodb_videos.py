"""DynamoDB ``VideoStore`` (table design: docs/data-model.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws import dynamodb_stats as stats
from milkmobs.adapters.aws.dynamodb_codec import number, video_from_item, video_item
from milkmobs.adapters.aws.errors import common_translation, error_code, transport_error
from milkmobs.domain import Page, Video, VideoStats, VideoStatus, check_save
from milkmobs.domain.errors import (
    BackendUnavailableError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    MilkmobsError,
    NotFoundError,
)
from milkmobs.domain.paging import CursorCodec
from milkmobs.domain.stats import StatsCounters, stats_change

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        KeysAndAttributesTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
    )

Item = dict[str, "AttributeValueTypeDef"]

INDEX_BY_USER = "byUser"
INDEX_BY_STATUS = "byStatus"
INDEX_BY_MOB = "byMob"
#: Non-key attributes every index carries, so a list returns the same Video as ``get``.
INDEX_PROJECTED_ATTRIBUTES = ("doc", "embedding", "embeddingModelId")
#: The table's TTL attribute (epoch seconds): set while a record is ``pending_upload``, so one whose
#: upload never came is removed by DynamoDB; every write in another status drops it.
EXPIRES_AT_ATTRIBUTE = "expiresAt"
_BATCH_GET_MAX = 100
#: Tries of an optimistic write when a concurrent writer changed the record or a counter shard (a
#: version conflict: the only failure this adapter retries; botocore owns throttling and faults).
WRITE_ATTEMPTS = 6
#: Rounds of a BatchGetItem while DynamoDB leaves keys unprocessed (botocore never sees those).
BATCH_GET_ROUNDS = 8


class _TransactionConflict(Exception):
    """Another transaction held the record or a counter shard: a version conflict, tried again."""


def _translate(exc: ClientError, *, table: str, doing: str, video_id: str | None = None) -> MilkmobsError:
    """The milkmobs error for a DynamoDB ClientError on the videos table."""
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        return ConflictError(f"{doing}: the stored video changed or is in another state", video_id=video_id)
    if code == "ResourceNotFoundException":
        return ConfigurationError(
            f"{doing}: table '{table}' (or one of its indexes) does not exist; deploy the stack or set "
            "MILKMOBS_AWS__VIDEOS_TABLE",
            video_id=video_id,
        )
    return common_translation(exc, doing=f"{doing} (table {table})", video_id=video_id)


class DynamoDBVideoStore:
    """Video records in one DynamoDB table with three GSIs, stats counters kept by the writes."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        cursor_secret: str | Callable[[], str],
        pending_upload_ttl_seconds: int | None = None,
    ) -> None:
        """``cursor_secret`` may be a function: it is called once, at the first list (a function that
        never lists videos never reads the key)."""
        self._client = client
        self._table = table_name
        self._cursor_secret = cursor_secret
        self._codec: CursorCodec | None = None
        self._pending_ttl = pending_upload_ttl_seconds

    @property
    def _cursors(self) -> CursorCodec:
        if self._codec is None:
            secret = self._cursor_secret
            self._codec = CursorCodec(secret if isinstance(secret, str) else secret())
        return self._codec

    def _item(self, video: Video, rev: int) -> Item:
        """The stored item; a ``pending_upload`` record carries its expiry (``pending_upload_ttl_seconds``
        after its creation) when the store was given one."""
        item = video_item(video, rev=rev)
        if self._pending_ttl is not None and video.status is VideoStatus.PENDING_UPLOAD:
            item[EXPIRES_AT_ATTRIBUTE] = number(int(video.created_at.timestamp()) + self._pending_ttl)
        return item

    # ----------------------------------------------------------------- items

    def _read(self, video_id: str) -> tuple[Video, int] | None:
        if stats.is_reserved_id(video_id) or not video_id:
            return None
        try:
            response = self._client.get_item(
                TableName=self._table, Key={"videoId": {"S": video_id}}, ConsistentRead=True
            )
        except ClientError as exc:
            raise _translate(exc, table=self._table, doing=f"reading video {video_id}", video_id=video_id) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"reading video {video_id}", video_id=video_id) from exc
        item = response.get("Item")
        if item is None:
            return None
        video = video_from_item(item)
        return video, video.revision

    # ---------------------------------------------------------------- writes

    def _write(self, operation: TransactWriteItemTypeDef, video_id: str, delta: StatsCounters, doing: str) -> None:
        """Apply one conditional Put/Delete, in a transaction with the counter update when ``delta``."""
        try:
            if not delta:
                if "Put" in operation:
                    self._client.put_item(**operation["Put"])
                else:
                    self._client.delete_item(**operation["Delete"])
                return
            expression, names, values = stats.add_expression(delta)
            counter: TransactWriteItemTypeDef = {
                "Update": {
                    "TableName": self._table,
                    "Key": {"videoId": {"S": stats.shard_id(video_id)}},
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
            self._client.transact_write_items(TransactItems=[operation, counter])
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                cancellation: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
                reasons = [str(r.get("Code", "None")) for r in cancellation]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    raise ConflictError(f"{doing}: the stored video changed", video_id=video_id) from exc
                if "TransactionConflict" in reasons:
                    raise _TransactionConflict(doing) from exc
                raise BackendUnavailableError(
                    f"{doing}: transaction cancelled ({', '.join(reasons) or 'no reason given'}); retry later",
                    video_id=video_id,
                ) from exc
            raise _translate(exc, table=self._table, doing=doing, video_id=video_id) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=doing, video_id=video_id) from exc

    def add(self, video: Video) -> None:
        """Store a new video (ConflictError if its id exists) and count it."""
        if stats.is_reserved_id(video.video_id) or not video.video_id:
            raise InvalidInputError(f"'{video.video_id}' is not a usable video id", field="videoId")
        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self._table,
                "Item": self._item(video, rev=0),
                "ConditionExpression": "attribute_not_exists(videoId)",
            }
        }
        doing = f"adding video {video.video_id}"
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self._write(put, video.video_id, stats_change(video, None), doing)
                video.revision = 0
                return
            except ConflictError as exc:
                raise ConflictError(f"video {video.video_id} already exists", video_id=video.video_id) from exc
            except _TransactionConflict:
                _backoff(attempt)
        raise _kept_conflicting(doing, video.video_id)

    def save(self, video: Video, *, expected_status: VideoStatus) -> None:
        """Replace the record if it is still at ``video.revision`` and ``expected_status``: read (for the
        counters' change), then a Put conditioned on both. A write that lost to another writer between
        the read and the Put reads again, which names the conflict; a transaction conflict on a
        counter shard (the record unchanged) is tried again."""
        doing = f"saving video {video.video_id}"
        for attempt in range(WRITE_ATTEMPTS):
            current = self._read(video.video_id)
            if current is None:
                raise NotFoundError(f"video {video.video_id} does not exist", video_id=video.video_id)
            old, rev = current
            check_save(video, expected_status, old)
            put: TransactWriteItemTypeDef = {
                "Put": {
                    "TableName": self._table,
                    "Item": self._item(video, rev=rev + 1),
                    # status guards the lifecycle; rev makes the Put a compare-and-set on the revision read
                    "ConditionExpression": f"#s = :expected AND {_at_revision(rev)}",
                    "ExpressionAttributeNames": {"#s": "status", "#r": "rev"},
                    "ExpressionAttributeValues": {":expected": {"S": expected_status.value}, ":rev": number(rev)},
                }
            }
            try:
                self._write(put, video.video_id, stats_change(video, old), doing)
                video.revision = rev + 1
                return
            except (ConflictError, _TransactionConflict):
                _backoff(attempt)  # re-read: the next round says NotFound/Conflict or succeeds
        raise _kept_conflicting(doing, video.video_id)

    def delete(self, video_id: str) -> Video:
        """Remove and return the record, taking it out of the counters."""
        doing = f"deleting video {video_id}"
        for attempt in range(WRITE_ATTEMPTS):
            current = self._read(video_id)
            if current is None:
                raise NotFoundError(f"video {video_id} does not exist", video_id=video_id)
            old, rev = current
            remove: TransactWriteItemTypeDef = {
                "Delete": {
                    "TableName": self._table,
                    "Key": {"videoId": {"S": video_id}},
                    "ConditionExpression": _at_revision(rev),
                    "ExpressionAttributeNames": {"#r": "rev"},
                    "ExpressionAttributeValues": {":rev": number(rev)},
                }
            }
            try:
                self._write(remove, video_id, stats_change(None, old), doing)
                return old
            except (ConflictError, _TransactionConflict):
                _backoff(attempt)
        raise _kept_conflicting(doing, video_id)

    # ----------------------------------------------------------------- reads

    def get(self, video_id: str, *, with_embedding: bool = True) -> Video:
        """The video (strongly consistent read); NotFoundError if unknown. The item is read whole either
        way (a record with its embedding is one 4 KB read unit)."""
        current = self._read(video_id)
        if current is None:
            raise NotFoundError(f"video {video_id} does not exist", video_id=video_id)
        return current[0] if with_embedding else current[0].model_copy(update={"embedding": None})

    def get_many(self, video_ids: Sequence[str], *, with_embedding: bool = True) -> list[Video]:
        """Known videos among ``video_ids`` in the given order, by BatchGetItem (100 keys a call);
        without the embedding attributes when ``with_embedding`` is False."""
        wanted = list(dict.fromkeys(v for v in video_ids if v and not stats.is_reserved_id(v)))
        found: dict[str, Video] = {}
        for start in range(0, len(wanted), _BATCH_GET_MAX):
            keys: list[Item] = [{"videoId": {"S": v}} for v in wanted[start : start + _BATCH_GET_MAX]]
            for item in self._batch_get(keys, doing="reading a batch of videos", document_only=not with_embedding):
                video = video_from_item(item)
                found[video.video_id] = video
        return [found[v] for v in video_ids if v in found]

    def _batch_get(self, keys: list[Item], *, doing: str, document_only: bool = False) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        pending: list[Any] = list(keys)
        for attempt in range(BATCH_GET_ROUNDS):
            if not pending:
                return items
            request: KeysAndAttributesTypeDef = {"Keys": pending, "ConsistentRead": True}
            if document_only:  # the record document alone: no embedding attributes to transfer or decode
                request["ProjectionExpression"] = "#id, #doc"
                request["ExpressionAttributeNames"] = {"#id": "videoId", "#doc": "doc"}
            try:
                response = self._client.batch_get_item(RequestItems={self._table: request})
            except ClientError as exc:
                raise _translate(exc, table=self._table, doing=doing) from exc
            except BotoCoreError as exc:
                raise transport_error(exc, doing=doing) from exc
            items.extend(response.get("Responses", {}).get(self._table, []))
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys", {}))
            pending = list(unprocessed.get(self._table, {}).get("Keys", []))
            if pending:
                _backoff(attempt)  # unprocessed keys mean throttling: back off before asking again
        raise BackendUnavailableError(f"{doing}: DynamoDB kept {len(pending)} keys unprocessed; retry later")

    def list_by_user(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]:
        """The user's videos, newest first (Query on ``byUser``)."""
        return self._page(INDEX_BY_USER, "userId", user_id, f"user:{user_id}", limit, cursor)

    def list_by_mob(self, mob_id: str, *, limit: int, cursor: str | None = None) -> Page[Video]:
        """The mob's videos, newest first (Query on the sparse ``byMob``)."""
        return self._page(INDEX_BY_MOB, "mobId", mob_id, f"mob:{mob_id}", limit, cursor)

    def list_by_status(self, status: VideoStatus | None, *, limit: int, cursor: str | None = None) -> Page[Video]:
        """Videos in ``status`` newest first; ``None`` merges one Query per status (no Scan)."""
        if status is not None:
            return self._page(INDEX_BY_STATUS, "status", status.value, f"status:{status.value}", limit, cursor)
        _check_limit(limit)
        boundary = self._cursors.decode("all", cursor) if cursor is not None else None
        merged: list[dict[str, Any]] = []
        for each in VideoStatus:
            merged.extend(self._query(INDEX_BY_STATUS, "status", each.value, boundary, limit + 1))
        merged.sort(key=lambda item: item["createdKey"]["S"], reverse=True)
        return self._cut(merged, "all", limit)

    def _page(self, index: str, attribute: str, value: str, query: str, limit: int, cursor: str | None) -> Page[Video]:
        _check_limit(limit)
        boundary = self._cursors.decode(query, cursor) if cursor is not None else None
        if not value:  # no item has an empty index key
            return Page(items=[], next_cursor=None)
        return self._cut(self._query(index, attribute, value, boundary, limit + 1), query, limit)

    def _cut(self, items: list[dict[str, Any]], query: str, limit: int) -> Page[Video]:
        # we read limit + 1 items, so a next cursor is only handed out when more exist
        page = items[:limit]
        next_cursor = self._cursors.encode(query, page[-1]["createdKey"]["S"]) if len(items) > limit else None
        return Page(items=[video_from_item(item) for item in page], next_cursor=next_cursor)

    def _query(self, index: str, attribute: str, value: str, boundary: str | None, want: int) -> list[dict[str, Any]]:
        """Up to ``want`` items of one index partition, newest first, strictly before ``boundary``."""
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :k" + (" AND createdKey < :b" if boundary is not None else ""),
            "ExpressionAttributeNames": {"#k": attribute},
            "ExpressionAttributeValues": {":k": {"S": value}},
            "ScanIndexForward": False,
        }
        if boundary is not None:
            request["ExpressionAttributeValues"][":b"] = {"S": boundary}  # type: ignore[index]
        items: list[dict[str, Any]] = []
        doing = f"listing videos by {attribute} {value}"
        while len(items) < want:
            request["Limit"] = want - len(items)
            try:
                response = self._client.query(**request)
            except ClientError as exc:
                raise _translate(exc, table=self._table, doing=doing) from exc
            except BotoCoreError as exc:
                raise transport_error(exc, doing=doing) from exc
            items.extend(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last  # a 1 MB page ended early: continue the same query
        return items

    def stats(self) -> VideoStats:
        """Counts and averages from the counter shards: one BatchGetItem, whatever the table size."""
        keys: list[Item] = [{"videoId": {"S": shard}} for shard in stats.all_shard_ids()]
        return stats.totals(self._batch_get(keys, doing="reading the stats counters"))


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInputError(f"limit must be at least 1, got {limit}", field="limit")


def _kept_conflicting(doing: str, video_id: str) -> ConflictError:
    return ConflictError(
        f"{doing}: concurrent writers kept changing the record or its counters ({WRITE_ATTEMPTS} tries); retry",
        video_id=video_id,
    )


def _at_revision(rev: int) -> str:
    """The condition "the stored item is still at revision ``:rev``" (``#r`` names ``rev``); an item
    written before ``rev`` was kept is at revision 0."""
    return "#r = :rev" if rev else "(#r = :rev OR attribute_not_exists(#r))"


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.01 * (2**attempt)))
