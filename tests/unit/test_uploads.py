"""Submit, upload and the object-created event, including every refused input of issue 2."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from tests.unit.core_support import CAMPAIGN_BYTES, make_app, own_file, snapshot, submit, upload

from milkmobs.core.uploads import media_key_for, video_id_from_key
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import ConflictError, InvalidInputError, NotFoundError, PayloadTooLargeError, VideoStatus

LIMIT = 1000


@pytest.fixture
def app():  # type: ignore[no-untyped-def]
    with make_app(settings={"uploads": {"max_upload_bytes": LIMIT}}) as application:
        yield application


def test_submit_creates_a_pending_record_and_a_ticket(app) -> None:  # type: ignore[no-untyped-def]
    submission = app.submit_video(
        SubmitRequest(user_id=" u1 ", title=" Hi ", hashtags=["#GotMilk", "gotmilk", "Skate"], size_bytes=300)
    )
    video = app.ports.videos.get(submission.video_id)
    assert video.status is VideoStatus.PENDING_UPLOAD and video.user_id == "u1" and video.title == "Hi"
    assert video.hashtags == ["gotmilk", "skate"]
    assert video.media_key == f"vid_{submission.video_id}.mp4" == media_key_for(submission.video_id)
    assert len(submission.video_id) == 32 and submission.video.video_url is None
    fields = submission.upload.fields
    assert submission.upload.method == "POST" and fields["key"] == video.media_key
    assert app.ports.media.accept_upload(fields, b"x" * 300) == video.media_key
    with pytest.raises(PayloadTooLargeError):  # the ticket allows the declared size, not the limit
        app.ports.media.accept_upload(fields, b"x" * 301)


def test_a_ticket_without_declared_size_allows_the_limit(app) -> None:  # type: ignore[no-untyped-def]
    ticket = app.submit_video(SubmitRequest(user_id="u1")).upload
    app.ports.media.accept_upload(ticket.fields, b"x" * LIMIT)
    with pytest.raises(PayloadTooLargeError):
        app.ports.media.accept_upload(ticket.fields, b"x" * (LIMIT + 1))


BAD_SUBMISSIONS: list[tuple[dict[str, Any], str, type[Exception]]] = [
    ({"user_id": ""}, "userId", InvalidInputError),
    ({"user_id": "   "}, "userId", InvalidInputError),
    ({"content_type": "video/quicktime"}, "contentType", InvalidInputError),
    ({"content_type": "image/png"}, "contentType", InvalidInputError),
    ({"size_bytes": LIMIT + 1}, "sizeBytes", PayloadTooLargeError),
    ({"size_bytes": 0}, "sizeBytes", InvalidInputError),
    ({"hashtags": [f"t{i}" for i in range(31)]}, "hashtags", InvalidInputError),
    ({"hashtags": ["x" * 101]}, "hashtags", InvalidInputError),
    ({"title": "x" * 201}, "title", InvalidInputError),
    ({"description": "x" * 2001}, "description", InvalidInputError),
]


@pytest.mark.parametrize(("changes", "field", "error"), BAD_SUBMISSIONS)
def test_bad_submissions_name_the_field_and_store_nothing(app, changes, field, error) -> None:  # type: ignore[no-untyped-def]
    upload(app)  # something already stored, which must stay as it is
    before = snapshot(app)
    request = SubmitRequest(**{"user_id": "u1", **changes})
    with pytest.raises(error) as raised:
        app.submit_video(request)
    assert raised.value.field == field
    assert snapshot(app) == before


def test_limits_at_the_edge_are_accepted(app) -> None:  # type: ignore[no-untyped-def]
    request = SubmitRequest(
        user_id="u1",
        title="x" * 200,
        description="y" * 2000,
        hashtags=[f"t{i}" for i in range(29)] + ["z" * 100],
        size_bytes=LIMIT,
    )
    assert app.submit_video(request).video.hashtags[-1] == "z" * 100


def test_upload_runs_the_pipeline_and_a_repeated_event_changes_nothing(app) -> None:  # type: ignore[no-untyped-def]
    video = upload(app)
    assert video.status is VideoStatus.VALIDATED and video.thumbnail_key
    before = snapshot(app)
    again = app.on_object_created(video.media_key, len(CAMPAIGN_BYTES))
    assert again is not None and again.status is VideoStatus.VALIDATED
    assert snapshot(app) == before
    assert len(app.execution_history(video.video_id)) == 1


def test_other_keys_are_ignored(app) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(app)
    for key in ["thumbnails/x.jpg", "vid_abc.mov", "embeddings/vid_abc.mp4/output.json", "vid_.mp4", "vid_a/b.mp4"]:
        assert app.on_object_created(key, 10) is None
    assert snapshot(app) == before
    assert video_id_from_key("vid_0123abcd.mp4") == "0123abcd"


def test_an_event_for_an_unknown_video_is_not_found(app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError):
        app.on_object_created("vid_" + "f" * 32 + ".mp4", 10)


@pytest.mark.parametrize(("size", "words"), [(0, "empty"), (LIMIT + 1, "above the allowed")])
def test_empty_or_oversized_objects_fail_the_video_with_a_reason(app, size, words) -> None:  # type: ignore[no-untyped-def]
    video_id = submit(app)
    key = app.ports.videos.get(video_id).media_key
    app.ports.media.put(key, b"x" * size)
    video = app.on_object_created(key, size)
    assert video is not None and video.status is VideoStatus.FAILED
    assert video.failure is not None and video.failure.step == "upload" and words in video.failure.error
    assert app.execution_history(video_id) == []  # no workflow started
    assert app.on_object_created(key, size) == app.ports.videos.get(video_id)  # repeat: unchanged


def test_the_size_is_read_from_the_media_store_when_the_event_has_none(app) -> None:  # type: ignore[no-untyped-def]
    video_id = submit(app)
    key = app.ports.videos.get(video_id).media_key
    app.ports.media.put(key, b"")
    assert app.on_object_created(key).status is VideoStatus.FAILED  # type: ignore[union-attr]


def test_upload_video_refuses_bad_data_before_storing(app) -> None:  # type: ignore[no-untyped-def]
    video_id = submit(app, size=100)
    before = snapshot(app)
    with pytest.raises(InvalidInputError) as empty:
        app.upload_video(video_id, b"")
    with pytest.raises(PayloadTooLargeError):
        app.upload_video(video_id, b"x" * 101)
    assert empty.value.field == "file"
    assert snapshot(app) == before
    assert not app.ports.media.exists(app.ports.videos.get(video_id).media_key)


def test_an_accepted_upload_is_pinned_and_a_retry_of_the_same_bytes_is_answered(app) -> None:  # type: ignore[no-untyped-def]
    video = upload(app)
    data = own_file(CAMPAIGN_BYTES, video.video_id)
    pinned = app.ports.videos.get(video.video_id)
    assert pinned.content_sha256 == hashlib.sha256(data).hexdigest()
    before = snapshot(app)
    assert app.upload_video(video.video_id, data) == pinned  # the lost answer, asked again
    with pytest.raises(ConflictError) as other:
        app.upload_video(video.video_id, data + b" swapped")
    assert other.value.video_id == video.video_id and "already accepted" in other.value.message
    assert snapshot(app) == before and app.ports.media.get(video.media_key) == data
    with pytest.raises(NotFoundError):
        app.upload_video("0" * 32, CAMPAIGN_BYTES)


def test_the_form_of_an_accepted_upload_refuses_other_bytes_and_stores_nothing(app) -> None:  # type: ignore[no-untyped-def]
    submission = app.submit_video(SubmitRequest(user_id="u1"))
    fields = submission.upload.fields
    key = app.ports.media.accept_upload(fields, CAMPAIGN_BYTES)
    app.on_object_created(key, len(CAMPAIGN_BYTES))
    assert app.ports.videos.get(submission.video_id).status is VideoStatus.VALIDATED
    with pytest.raises(ConflictError):
        app.ports.media.accept_upload(fields, b"never analysed")
    assert app.ports.media.accept_upload(fields, CAMPAIGN_BYTES) == key  # a retry: answered, not rewritten
    assert app.ports.media.get(key) == CAMPAIGN_BYTES and app.ports.media.version_count(key) == 1


def test_upload_forms_are_short_lived_by_default() -> None:
    with make_app() as application:
        ticket = application.submit_video(SubmitRequest(user_id="u1")).upload
        assert (ticket.expires_at - application.ports.clock.now()).total_seconds() <= 300


def test_uploaded_but_unstarted_video_gets_its_workflow_on_a_repeated_event(app) -> None:  # type: ignore[no-untyped-def]
    # A crash between "uploaded" and the workflow start: the repeated event starts it, once.
    video_id = submit(app)
    ports = app.ports
    video = ports.videos.get(video_id)
    ports.media.put(video.media_key, CAMPAIGN_BYTES)
    now = ports.clock.now()
    ports.videos.save(video.transitioned(VideoStatus.UPLOADED, at=now), expected_status=VideoStatus.PENDING_UPLOAD)
    app.on_object_created(video.media_key)
    app.on_object_created(video.media_key)
    assert ports.videos.get(video_id).status is VideoStatus.VALIDATED
    assert len(app.execution_history(video_id)) == 1


def test_thumbnails(app) -> None:  # type: ignore[no-untyped-def]
    video = upload(app)
    view = app.get_video(video.video_id)
    assert view.thumbnail_url and view.video_url
    updated = app.set_thumbnail(video.video_id, b"\xff\xd8jpeg")
    assert app.ports.media.get(updated.thumbnail_key) == b"\xff\xd8jpeg"  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        app.set_thumbnail(video.video_id, b"")
