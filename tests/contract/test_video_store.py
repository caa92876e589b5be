"""VideoStore contract: records, status-guarded saves, deletes and stats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from milkmobs.domain import ConflictError, Failure, NotFoundError, VersionConflictError, VideoStatus
from tests.contract.support import T0, full_video, make_video, validation_for

Store = Any


def test_add_then_get_returns_an_equal_record(video_store: Store) -> None:
    video = make_video("v1")
    video_store.add(video)
    assert video_store.get("v1") == video


def test_every_field_round_trips_and_the_embedding_is_bit_exact_float32(video_store: Store) -> None:
    video = full_video("full")
    video_store.add(video)
    got = video_store.get("full")
    assert got == video
    assert got.embedding is not None and video.embedding is not None
    assert got.embedding.vector.dtype == np.float32
    assert got.embedding.vector.tobytes() == video.embedding.vector.tobytes()
    assert got.embedding.model_id == "marengo-test"
    assert got.insights is not None and got.insights.product_mentioned is None
    assert got.validation is not None and got.validation.breakdown.audio is None


def test_empty_hashtags_and_failure_round_trip(video_store: Store) -> None:
    failed = make_video(
        "failed",
        status=VideoStatus.FAILED,
        failure=Failure(step="describe", error="model said no", error_type="AnalysisError", at=T0),
    )
    video_store.add(failed)
    got = video_store.get("failed")
    assert got.hashtags == []
    assert got.failure == failed.failure
    assert got == failed


def test_adding_an_existing_id_is_a_conflict_and_keeps_the_original(video_store: Store) -> None:
    video_store.add(make_video("v1", user_id="first"))
    with pytest.raises(ConflictError):
        video_store.add(make_video("v1", user_id="second"))
    assert video_store.get("v1").user_id == "first"
    assert video_store.stats().total_videos == 1


def test_get_unknown_is_not_found(video_store: Store) -> None:
    with pytest.raises(NotFoundError):
        video_store.get("nope")


def test_changing_a_returned_record_does_not_change_the_store(video_store: Store) -> None:
    video_store.add(make_video("v1", hashtags=["a"]))
    got = video_store.get("v1")
    got.hashtags.append("b")
    got.title = "changed"
    assert video_store.get("v1").hashtags == ["a"]
    assert video_store.get("v1").title == ""


def test_get_many_keeps_the_given_order_and_skips_unknown_ids(video_store: Store) -> None:
    for i in range(4):
        video_store.add(make_video(f"v{i}", created_at=T0 + timedelta(seconds=i)))
    got = video_store.get_many(["v2", "missing", "v0", "v3"])
    assert [v.video_id for v in got] == ["v2", "v0", "v3"]
    assert video_store.get_many([]) == []


def test_reads_without_the_embedding_give_the_record_less_its_embedding(video_store: Store) -> None:
    video_store.add(full_video("full"))
    video_store.add(make_video("plain", created_at=T0 + timedelta(seconds=1)))
    stored = video_store.get("full")
    assert stored.embedding is not None
    alone = video_store.get("full", with_embedding=False)
    assert alone.embedding is None
    assert alone == stored.model_copy(update={"embedding": None})
    many = video_store.get_many(["plain", "missing", "full"], with_embedding=False)
    assert [v.video_id for v in many] == ["plain", "full"]
    assert all(v.embedding is None for v in many)
    assert many[1] == alone
    assert video_store.get("full").embedding == stored.embedding  # the stored record keeps it
    with pytest.raises(NotFoundError):
        video_store.get("missing", with_embedding=False)


def test_save_with_the_expected_status_replaces_the_record(video_store: Store) -> None:
    video = make_video("v1")
    video_store.add(video)
    uploaded = video.transitioned(VideoStatus.UPLOADED, at=T0 + timedelta(seconds=5), uploaded_at=T0)
    video_store.save(uploaded, expected_status=VideoStatus.PENDING_UPLOAD)
    assert video_store.get("v1") == uploaded


def test_save_with_another_status_is_a_conflict_and_changes_nothing(video_store: Store) -> None:
    video = make_video("v1")
    video_store.add(video)
    processing = video.model_copy(update={"status": VideoStatus.PROCESSING, "title": "changed"})
    with pytest.raises(ConflictError):
        video_store.save(processing, expected_status=VideoStatus.UPLOADED)
    assert video_store.get("v1") == video
    assert video_store.stats().by_status == {"pending_upload": 1}


def test_a_save_from_a_copy_read_before_the_thumbnail_keeps_the_thumbnail(video_store: Store) -> None:
    # generate-thumbnail runs beside the pipeline: a step that read the record before the thumbnail
    # was stored must not erase it when it saves.
    video = make_video("v1")
    video_store.add(video)
    read_by_the_pipeline = video_store.get("v1")
    video_store.save(video.with_thumbnail("thumbnails/v1.jpg", at=T0), expected_status=VideoStatus.PENDING_UPLOAD)
    uploaded = read_by_the_pipeline.transitioned(VideoStatus.UPLOADED, at=T0 + timedelta(seconds=5), uploaded_at=T0)
    # The copy predates the thumbnail: its save is refused whole, and the step applies its change
    # again to a fresh read (what milkmobs.core.optimistic does for every step).
    with pytest.raises(VersionConflictError):
        video_store.save(uploaded, expected_status=VideoStatus.PENDING_UPLOAD)
    uploaded = video_store.get("v1").transitioned(VideoStatus.UPLOADED, at=T0 + timedelta(seconds=5), uploaded_at=T0)
    video_store.save(uploaded, expected_status=VideoStatus.PENDING_UPLOAD)
    got = video_store.get("v1")
    assert got.status is VideoStatus.UPLOADED
    assert got.thumbnail_key == "thumbnails/v1.jpg"


def test_save_of_an_unknown_video_is_not_found_and_creates_nothing(video_store: Store) -> None:
    with pytest.raises(NotFoundError):
        video_store.save(make_video("ghost"), expected_status=VideoStatus.PENDING_UPLOAD)
    with pytest.raises(NotFoundError):
        video_store.get("ghost")
    assert video_store.stats().total_videos == 0


def test_delete_returns_the_record_and_a_second_delete_is_not_found(video_store: Store) -> None:
    keep = make_video("keep", created_at=T0, mob_id="m")
    gone = full_video("gone", created_at=T0 + timedelta(seconds=1))
    video_store.add(keep)
    video_store.add(gone)
    assert video_store.delete("gone") == gone
    with pytest.raises(NotFoundError):
        video_store.get("gone")
    with pytest.raises(NotFoundError):
        video_store.delete("gone")
    assert video_store.get("keep") == keep
    assert [v.video_id for v in video_store.list_by_status(None, limit=10).items] == ["keep"]
    assert video_store.list_by_mob("mob-1", limit=10).items == []
    assert video_store.list_by_user("user-full", limit=10).items == []


def test_stats_of_an_empty_store(video_store: Store) -> None:
    stats = video_store.stats()
    assert stats.total_videos == 0
    assert {k: v for k, v in stats.by_status.items() if v} == {}
    assert stats.average_validation_score is None
    assert stats.average_seconds_to_validate is None


def _walk_to(store: Store, video_id: str, path: list[VideoStatus], *, seconds: float, score: float | None) -> None:
    """Save the video through ``path``; the last step sets completion time and validation."""
    current = store.get(video_id)
    for i, status in enumerate(path):
        changes: dict[str, Any] = {}
        if i == len(path) - 1 and score is not None:
            changes = {
                "completed_at": current.created_at + timedelta(seconds=seconds),
                "validation": validation_for(video_id, score),
            }
        nxt = current.transitioned(status, at=current.created_at + timedelta(seconds=seconds), **changes)
        store.save(nxt, expected_status=current.status)
        current = nxt


def test_stats_follow_adds_transitions_and_deletes(video_store: Store) -> None:
    up, proc = VideoStatus.UPLOADED, VideoStatus.PROCESSING
    for i in range(6):
        video_store.add(make_video(f"v{i}", created_at=T0 + timedelta(minutes=i)))
    _walk_to(video_store, "v0", [up, proc, VideoStatus.VALIDATED], seconds=10, score=0.9)
    _walk_to(video_store, "v1", [up, proc, VideoStatus.VALIDATED], seconds=30, score=0.7)
    _walk_to(video_store, "v2", [up, proc, VideoStatus.REJECTED], seconds=20, score=0.2)
    _walk_to(video_store, "v3", [up, proc], seconds=5, score=None)
    _walk_to(video_store, "v4", [VideoStatus.FAILED], seconds=1, score=None)

    stats = video_store.stats()
    assert stats.total_videos == 6
    assert {k: v for k, v in stats.by_status.items() if v} == {
        "validated": 2,
        "rejected": 1,
        "processing": 1,
        "failed": 1,
        "pending_upload": 1,
    }
    assert stats.average_validation_score == pytest.approx((0.9 + 0.7 + 0.2) / 3)
    assert stats.average_seconds_to_validate == pytest.approx(20.0)

    # Re-validation flips v1 to rejected with a new score; then v0 is deleted.
    v1 = video_store.get("v1")
    flipped = v1.transitioned(VideoStatus.REJECTED, at=T0, validation=validation_for("v1", 0.4))
    video_store.save(flipped, expected_status=VideoStatus.VALIDATED)
    video_store.delete("v0")

    stats = video_store.stats()
    assert stats.total_videos == 5
    assert {k: v for k, v in stats.by_status.items() if v} == {
        "rejected": 2,
        "processing": 1,
        "failed": 1,
        "pending_upload": 1,
    }
    assert stats.average_validation_score == pytest.approx((0.4 + 0.2) / 2)
    assert stats.average_seconds_to_validate is None
    assert stats.active_mobs == 0
