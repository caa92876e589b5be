"""Converting between domain records and DynamoDB attribute values (low-level client format)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from milkmobs.domain import Embedding, Video

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attribute(value: Any) -> AttributeValueTypeDef:
    """A JSON value (str/int/float/bool/None/list/dict) or bytes as a DynamoDB attribute.

    Floats go through their shortest repr, so they come back as the same float. Lists stay
    lists (``L``): the serializer never produces a string set from them.
    """
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    # json round trip turns floats into Decimals without binary-to-decimal noise
    prepared = json.loads(json.dumps(value), parse_float=Decimal)
    result: AttributeValueTypeDef = _serializer.serialize(prepared)
    return result


def from_attribute(attribute: Any) -> Any:
    """The plain Python value of an attribute: Decimals become int or float, Binary becomes bytes."""
    return _plain(_deserializer.deserialize(attribute))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, Binary):
        return value.__bytes__()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):  # never written by milkmobs; tolerated on read
        return sorted(_plain(v) for v in value)
    return value


def number(value: int | float | Decimal) -> AttributeValueTypeDef:
    """An ``N`` attribute with an exact decimal text."""
    text = str(value) if isinstance(value, int | Decimal) else repr(float(value))
    return {"N": text}


def sort_timestamp(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601 with microseconds, so string order is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def video_item(video: Video, rev: int) -> dict[str, AttributeValueTypeDef]:
    """The videos-table item of ``video`` at revision ``rev`` (layout: docs/data-model.md). The document
    carries the revision too: the indexes project ``doc`` but not ``rev``, and a listed record must
    know the revision it was read at."""
    doc = video.model_dump(mode="json", by_alias=True, exclude_none=True)
    doc["revision"] = rev
    item: dict[str, AttributeValueTypeDef] = {
        "videoId": {"S": video.video_id},
        "status": {"S": video.status.value},
        "createdKey": {"S": f"{sort_timestamp(video.created_at)}#{video.video_id}"},
        "rev": number(rev),
        "doc": to_attribute(doc),
    }
    if video.user_id:  # index keys may not be empty strings; the doc keeps the value anyway
        item["userId"] = {"S": video.user_id}
    if video.mob_id:
        item["mobId"] = {"S": video.mob_id}
    if video.embedding is not None:
        item["embedding"] = {"B": video.embedding.to_bytes()}
        item["embeddingModelId"] = {"S": video.embedding.model_id}
    return item


def video_from_item(item: Mapping[str, Any]) -> Video:
    """The Video stored in a table or index item, at its revision (``rev``, else the document's; an item
    written before revisions were kept in the document is at 0)."""
    video = Video.model_validate(from_attribute(item["doc"]))
    if "rev" in item:
        video.revision = int(item["rev"]["N"])
    if "embedding" in item:
        embedding = Embedding.from_bytes(bytes(item["embedding"]["B"]), model_id=item["embeddingModelId"]["S"])
        video = video.with_embedding(embedding)
    return video
