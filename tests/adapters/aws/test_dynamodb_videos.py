"""DynamoDBVideoStore specifics: item format, cursors, stats counters, and no Scan anywhere."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from tests.adapters.aws.conftest import CURSOR_SECRET

from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore
from milkmobs.domain import (
    ConflictError,
    Embedding,
    InvalidInputError,
    NotFoundError,
    ScoreBreakdown,
    ValidationResult,
    Video,
    VideoStatus,
)
from milkmobs.domain.paging import CursorCodec

T0 = datetime(2026, 11, 26, tzinfo=UTC)


def _video(i: int, *, user: str = "u1", seconds: int | None = None) -> Video:
    created = T0 + timedelta(seconds=i if seconds is None else seconds)
    return Video(video_id=f"v{i:03d}", user_id=user, media_key=f"vid_{i}.mp4", created_at=created, updated_at=created)


def _ids(videos: list[Video]) -> list[str]:
    return [v.video_id for v in videos]


def _set_types(value: Any) -> list[str]:
    """Every set-typed attribute (SS/NS/BS) anywhere inside an item."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in {"SS", "NS", "BS"}:
                found.append(key)
            found.extend(_set_types(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_set_types(inner))
    return found


class CallRecorder:
    """Counts the DynamoDB operations a client makes (botocore ``before-call`` events)."""

    def __init__(self, store: DynamoDBVideoStore) -> None:
        self.operations: list[str] = []
        store._client.meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)


def test_item_format_binary_embedding_index_keys_and_no_string_sets(
    video_store: DynamoDBVideoStore, tables: AwsClients
) -> None:
    vector = np.random.default_rng(1).normal(size=512).astype(np.float32)
    embedding = Embedding.create(vector, model_id="marengo")
    video = _video(1).model_copy(update={"hashtags": [], "embedding": embedding, "mob_id": "m1"})
    video_store.add(video)
    item = tables.dynamodb().get_item(TableName="videos", Key={"videoId": {"S": "v001"}})["Item"]
    assert item["embedding"]["B"] == embedding.vector.astype("<f4").tobytes()
    assert len(item["embedding"]["B"]) == 512 * 4
    assert "embedding" not in item["doc"]["M"]
    assert item["createdKey"]["S"] == "2026-11-26T00:00:01.000000Z#v001"
    assert item["status"]["S"] == "pending_upload" and item["userId"]["S"] == "u1" and item["mobId"]["S"] == "m1"
    assert item["doc"]["M"]["hashtags"] == {"L": []}
    assert not _set_types(item)
    stored = video_store.get("v001")
    assert stored.embedding is not None and np.array_equal(stored.embedding.vector, embedding.vector)
    # lists return the same record, embedding included (the batch re-clustering reads it from byStatus)
    for page in (
        video_store.list_by_status(VideoStatus.PENDING_UPLOAD, limit=5),
        video_store.list_by_user("u1", limit=5),
        video_store.list_by_mob("m1", limit=5),
    ):
        assert page.items == [stored]
    # no mob: no mobId attribute, so the sparse byMob index never sees the video
    video_store.add(_video(2))
    item = tables.dynamodb().get_item(TableName="videos", Key={"videoId": {"S": "v002"}})["Item"]
    assert "mobId" not in item and "embedding" not in item


def test_page_boundaries_and_no_scan(video_store: DynamoDBVideoStore) -> None:
    for i in range(6):
        video_store.add(_video(i, seconds=i // 2))  # pairs share created_at: ties broken by id
    calls = CallRecorder(video_store)
    first = video_store.list_by_user("u1", limit=3)
    assert _ids(first.items) == ["v005", "v004", "v003"] and first.next_cursor
    second = video_store.list_by_user("u1", limit=3, cursor=first.next_cursor)
    assert _ids(second.items) == ["v002", "v001", "v000"]
    assert second.next_cursor is None  # exactly on the last item: no cursor to an empty page
    every = video_store.list_by_status(None, limit=4)
    assert _ids(every.items) == ["v005", "v004", "v003", "v002"]
    assert "Scan" not in calls.operations and set(calls.operations) == {"Query"}
    with pytest.raises(InvalidInputError):
        video_store.list_by_user("u1", limit=0)


def _edit(cursor: str, change: dict[str, Any]) -> str:
    body, signature = cursor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(change)
    edited = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{edited}.{signature}"


def test_forged_edited_foreign_and_garbage_cursors_are_invalid_input(video_store: DynamoDBVideoStore) -> None:
    for i in range(5):
        video_store.add(_video(i, user="alice"))
    video_store.add(_video(9, user="bob"))
    cursor = video_store.list_by_user("alice", limit=2).next_cursor
    assert cursor is not None
    attempts = [
        _edit(cursor, {"q": "user:bob"}),  # pointed at another user's list
        _edit(cursor, {"p": "9999"}),  # moved position
        CursorCodec("another-deployment-secret").encode("user:alice", "2026-11-26T00:00:03.000000Z#v003"),
        "not-a-cursor",
        cursor[:-3],
        cursor + "A",
        "a.b.c",
        "",
        "é.é",
    ]
    for bad in attempts:
        with pytest.raises(InvalidInputError) as caught:
            video_store.list_by_user("alice", limit=2, cursor=bad)
        assert caught.value.field == "cursor"
    # a valid cursor of another query (bob's list, the status list) is refused too
    for other in (
        lambda c: video_store.list_by_user("bob", limit=2, cursor=c),
        lambda c: video_store.list_by_status(VideoStatus.PENDING_UPLOAD, limit=2, cursor=c),
        lambda c: video_store.list_by_status(None, limit=2, cursor=c),
        lambda c: video_store.list_by_mob("m1", limit=2, cursor=c),
    ):
        with pytest.raises(InvalidInputError):
            other(cursor)
    # the same signed structure from our own codec but for the right query is accepted
    own = CursorCodec(CURSOR_SECRET).encode("user:alice", "2026-11-26T00:00:03.000000Z#v003")
    assert _ids(video_store.list_by_user("alice", limit=5, cursor=own).items) == ["v002", "v001", "v000"]


def test_cursor_of_a_deleted_item_continues_with_the_next(video_store: DynamoDBVideoStore) -> None:
    for i in range(5):
        video_store.add(_video(i))
    page = video_store.list_by_status(None, limit=2)
    assert _ids(page.items) == ["v004", "v003"]
    video_store.delete("v003")
    video_store.delete("v002")
    rest = video_store.list_by_status(None, limit=5, cursor=page.next_cursor)
    assert _ids(rest.items) == ["v001", "v000"] and rest.next_cursor is None


def _validated(video: Video, score: float, *, after: int) -> Video:
    done = video.created_at + timedelta(seconds=after)
    result = ValidationResult(
        video_id=video.video_id,
        score=score,
        passed=score >= 0.7,
        breakdown=ScoreBreakdown(visual=1, audio=None, ocr=0.5, hashtags=0),
    )
    status = VideoStatus.VALIDATED if score >= 0.7 else VideoStatus.REJECTED
    return video.model_copy(update={"status": status, "validation": result, "completed_at": done})


def test_stats_counters_follow_every_write_with_one_read(video_store: DynamoDBVideoStore) -> None:
    videos = [_video(i) for i in range(4)]
    for video in videos:
        video_store.add(video)
    video_store.save(_validated(videos[0], 0.9, after=10), expected_status=VideoStatus.PENDING_UPLOAD)
    video_store.save(_validated(videos[1], 0.8, after=20), expected_status=VideoStatus.PENDING_UPLOAD)
    video_store.save(_validated(videos[2], 0.1, after=99), expected_status=VideoStatus.PENDING_UPLOAD)
    with pytest.raises(ConflictError):
        video_store.save(videos[0], expected_status=VideoStatus.PENDING_UPLOAD)
    calls = CallRecorder(video_store)
    stats = video_store.stats()
    assert calls.operations == ["BatchGetItem"]
    assert stats.by_status == {"validated": 2, "rejected": 1, "pending_upload": 1}
    assert stats.total_videos == 4
    assert stats.average_validation_score == pytest.approx((0.9 + 0.8 + 0.1) / 3)
    assert stats.average_seconds_to_validate == pytest.approx(15.0)
    video_store.delete("v000")
    stats = video_store.stats()
    assert stats.by_status == {"validated": 1, "rejected": 1, "pending_upload": 1}
    assert stats.average_validation_score == pytest.approx(0.45)
    assert stats.average_seconds_to_validate == pytest.approx(20.0)
    with pytest.raises(NotFoundError):
        video_store.delete("v000")
    # the counter items are not videos
    with pytest.raises(NotFoundError):
        video_store.get("_stats#0")
    assert _ids(video_store.list_by_status(None, limit=10).items) == ["v003", "v002", "v001"]


def test_a_pending_upload_carries_its_ttl_and_the_upload_drops_it(tables: AwsClients) -> None:
    from milkmobs.adapters.aws.dynamodb_videos import EXPIRES_AT_ATTRIBUTE

    client = tables.dynamodb()
    store = DynamoDBVideoStore(client, "videos", cursor_secret=CURSOR_SECRET, pending_upload_ttl_seconds=3600)
    video = _video(1)
    store.add(video)

    def stored() -> dict[str, Any]:
        return dict(client.get_item(TableName="videos", Key={"videoId": {"S": video.video_id}})["Item"])

    assert int(stored()[EXPIRES_AT_ATTRIBUTE]["N"]) == int(video.created_at.timestamp()) + 3600
    at = T0 + timedelta(minutes=5)
    uploaded = video.transitioned(VideoStatus.UPLOADED, at=at, uploaded_at=at)
    store.save(uploaded, expected_status=VideoStatus.PENDING_UPLOAD)
    assert EXPIRES_AT_ATTRIBUTE not in stored()
    # the table's TTL is on that very attribute (create_tables builds what the stack deploys)
    ttl = client.describe_time_to_live(TableName="videos")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == EXPIRES_AT_ATTRIBUTE and ttl["TimeToLiveStatus"] == "ENABLED"


def test_a_store_without_a_ttl_writes_none(video_store: DynamoDBVideoStore, tables: AwsClients) -> None:
    from milkmobs.adapters.aws.dynamodb_videos import EXPIRES_AT_ATTRIBUTE

    video_store.add(_video(2))
    item = tables.dynamodb().get_item(TableName="videos", Key={"videoId": {"S": "v002"}})["Item"]
    assert EXPIRES_AT_ATTRIBUTE not in item


def test_an_item_written_before_revisions_is_at_revision_0_and_saves_compare_and_set(
    video_store: DynamoDBVideoStore, tables: AwsClients
) -> None:
    from milkmobs.adapters.aws.dynamodb_codec import video_item
    from milkmobs.domain import VersionConflictError

    client = tables.dynamodb()
    item = video_item(_video(1), rev=0)
    del item["rev"]  # no revision attribute at all, in the item or its document
    del item["doc"]["M"]["revision"]  # type: ignore[index]
    client.put_item(TableName="videos", Item=item)
    old = video_store.get("v001")
    stale = video_store.get("v001")
    assert old.revision == 0 and old == _video(1)
    assert [v.revision for v in video_store.list_by_user("u1", limit=5).items] == [0]

    video_store.save(old.with_thumbnail("thumbnails/v001.jpg", at=T0), expected_status=VideoStatus.PENDING_UPLOAD)
    stored = client.get_item(TableName="videos", Key={"videoId": {"S": "v001"}})["Item"]
    assert stored["rev"] == {"N": "1"} and stored["doc"]["M"]["revision"] == {"N": "1"}
    with pytest.raises(VersionConflictError):
        video_store.save(stale.transitioned(VideoStatus.FAILED, at=T0), expected_status=VideoStatus.PENDING_UPLOAD)
    assert video_store.get("v001").thumbnail_key == "thumbnails/v001.jpg"
    assert video_store.get("v001").revision == 1
