"""Client retries are safe: an Idempotency-Key names one video, a user's file is stored once."""

from __future__ import annotations

import hashlib

import pytest
from tests.unit.core_support import CAMPAIGN_BYTES, make_app, snapshot

from milkmobs.core import steps
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import (
    DuplicateContentError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    VideoStatus,
)
from milkmobs.ports import Claim

REQUEST = SubmitRequest(user_id="u1", title="milk", hashtags=["gotmilk"], size_bytes=len(CAMPAIGN_BYTES))


def test_the_same_key_and_request_answer_the_same_video_with_a_fresh_form() -> None:
    with make_app() as app:
        first = app.submit_video(REQUEST, idempotency_key="key-1")
        again = app.submit_video(REQUEST, idempotency_key="key-1")
        assert again.video_id == first.video_id
        assert again.upload.fields["key"] == first.upload.fields["key"]
        assert app.stats().total_videos == 1
        app.upload_video(first.video_id, CAMPAIGN_BYTES)
        later = app.submit_video(REQUEST, idempotency_key="key-1")  # even after the upload
        assert later.video_id == first.video_id and later.video.status is VideoStatus.VALIDATED
        assert app.stats().total_videos == 1
        assert app.submit_video(REQUEST).video_id != first.video_id  # no key: a new video each time
        assert app.submit_video(REQUEST.model_copy(update={"user_id": "u2"}), idempotency_key="key-1").video_id not in (
            first.video_id,
        )  # keys belong to their user


def test_the_same_key_with_another_request_is_refused_naming_the_first_video() -> None:
    with make_app() as app:
        first = app.submit_video(REQUEST, idempotency_key="key-1")
        before = snapshot(app)
        with pytest.raises(IdempotencyKeyReusedError) as reused:
            app.submit_video(REQUEST.model_copy(update={"title": "other"}), idempotency_key="key-1")
        assert reused.value.video_id == first.video_id and reused.value.field == "Idempotency-Key"
        assert snapshot(app) == before


@pytest.mark.parametrize("key", ["", " ", "has space", "ü", "x" * 256, "tab\t"])
def test_malformed_keys_are_refused(key: str) -> None:
    with make_app() as app, pytest.raises(InvalidInputError):
        app.submit_video(REQUEST, idempotency_key=key)


def test_a_submit_that_died_after_its_claim_is_finished_by_the_retry() -> None:
    with make_app() as app:
        # What a crash between taking the key and writing the record leaves behind.
        first = app.submit_video(REQUEST, idempotency_key="key-1")
        app.ports.videos.delete(first.video_id)
        again = app.submit_video(REQUEST, idempotency_key="key-1")
        assert again.video_id == first.video_id and app.ports.videos.get(first.video_id).title == "milk"


def test_a_second_upload_of_the_same_file_is_recognised_and_stored_once() -> None:
    with make_app() as app:
        first = app.submit_video(REQUEST)
        app.upload_video(first.video_id, CAMPAIGN_BYTES)
        second = app.submit_video(REQUEST)
        with pytest.raises(DuplicateContentError) as duplicate:
            app.upload_video(second.video_id, CAMPAIGN_BYTES)
        assert duplicate.value.video_id == first.video_id and first.video_id in duplicate.value.message
        failed = app.get_video(second.video_id)
        assert failed.status is VideoStatus.FAILED and failed.failure is not None
        assert failed.failure.error_type == "DuplicateContentError" and first.video_id in failed.failure.error
        assert not app.ports.media.exists(failed.media_key)  # the bytes are kept once
        assert app.find_upload("u1", hashlib.sha256(CAMPAIGN_BYTES).hexdigest()).video_id == first.video_id  # type: ignore[union-attr]
        # Another user's copy is their own video.
        other = app.submit_video(REQUEST.model_copy(update={"user_id": "u2"}))
        assert app.upload_video(other.video_id, CAMPAIGN_BYTES).status is VideoStatus.VALIDATED


def test_a_declared_hash_of_a_known_file_is_refused_before_anything_is_created() -> None:
    digest = hashlib.sha256(CAMPAIGN_BYTES).hexdigest()
    with make_app() as app:
        first = app.submit_video(REQUEST.model_copy(update={"content_sha256": digest.upper()}))
        assert first.video.content_sha256 == digest
        app.upload_video(first.video_id, CAMPAIGN_BYTES)
        before = snapshot(app)
        with pytest.raises(DuplicateContentError) as duplicate:
            app.submit_video(REQUEST.model_copy(update={"content_sha256": digest}))
        assert duplicate.value.video_id == first.video_id and snapshot(app) == before
        with pytest.raises(InvalidInputError):
            app.submit_video(REQUEST.model_copy(update={"content_sha256": "abc"}))


def test_the_upload_must_be_the_declared_file() -> None:
    with make_app() as app:
        declared = app.submit_video(REQUEST.model_copy(update={"content_sha256": "0" * 64}))
        video = app.upload_video(declared.video_id, CAMPAIGN_BYTES)
        assert video.status is VideoStatus.FAILED and "not the one declared" in video.failure.error  # type: ignore[union-attr]


def test_a_deleted_or_failed_video_frees_its_file_for_a_new_upload() -> None:
    with make_app() as app:
        first = app.submit_video(REQUEST)
        app.upload_video(first.video_id, CAMPAIGN_BYTES)
        app.delete_video(first.video_id)
        second = app.submit_video(REQUEST)
        assert app.upload_video(second.video_id, CAMPAIGN_BYTES).status is VideoStatus.VALIDATED
        steps.mark_failed(app.context, second.video_id, step="analysis", error="model down")
        third = app.submit_video(REQUEST)
        assert app.upload_video(third.video_id, CAMPAIGN_BYTES).status is VideoStatus.VALIDATED
        held = app.ports.claims.get("content/u1", hashlib.sha256(CAMPAIGN_BYTES).hexdigest())
        assert isinstance(held, Claim) and held.video_id == third.video_id
