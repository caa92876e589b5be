"""Pinned uploads on S3 (moto): a presigned POST form stays valid until it expires and S3 accepts no
conditional header on POST, so posting it again makes a new version. The record keeps the accepted
version; reads and analysis use it; start-analysis removes the later version."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from tests.adapters.aws.moto_support import REGION, aws_app_on_moto
from tests.handlers.conftest import LambdaContext, s3_event

from milkmobs.adapters.aws.s3_media import S3MediaStore
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import ConflictError, VideoStatus
from milkmobs.lambdas import _runtime, start_analysis

pytest.importorskip("moto")

ACCEPTED = b"GOT MILK drinking milk " + bytes(range(256))
SWAPPED = b"skateboarding in the park, never analysed " + bytes(range(256))


def _post(ticket_url: str, fields: dict[str, str], body: bytes) -> None:
    response = requests.post(ticket_url, data=fields, files={"file": ("clip.mp4", body, "video/mp4")}, timeout=30)
    assert response.status_code in (200, 201, 204), response.text


def _event_with_version(key: str, size: int, version: str) -> dict[str, Any]:
    event = s3_event(key, sizes={key: size})
    event["Records"][0]["s3"]["object"]["versionId"] = version
    return event


def test_a_second_post_of_the_form_is_removed_and_the_accepted_version_is_what_is_read() -> None:
    with aws_app_on_moto() as env:
        app = env.app
        s3 = env.session.client("s3", region_name=REGION)
        submission = app.submit_video(SubmitRequest(user_id="u1", hashtags=["gotmilk"]))
        key, ticket = submission.upload.fields["key"], submission.upload
        _post(ticket.url, ticket.fields, ACCEPTED)
        first = s3.head_object(Bucket="milkmobs-media", Key=key)["VersionId"]
        _runtime.install(app, settings_override=env.settings)
        try:
            answer = start_analysis.handler(_event_with_version(key, len(ACCEPTED), first), LambdaContext())
            assert answer["started"] == [submission.video_id]
            video = app.ports.videos.get(submission.video_id)
            assert video.media_version == first and video.content_sha256 == hashlib.sha256(ACCEPTED).hexdigest()

            _post(ticket.url, ticket.fields, SWAPPED)  # the same form, still valid: S3 makes a new version
            second = s3.head_object(Bucket="milkmobs-media", Key=key)["VersionId"]
            assert second != first
            start_analysis.handler(_event_with_version(key, len(SWAPPED), second), LambdaContext())
        finally:
            _runtime.install(None)

        versions = s3.list_object_versions(Bucket="milkmobs-media", Prefix=key).get("Versions", [])
        assert [v["VersionId"] for v in versions] == [first]  # the later version is gone
        assert app.ports.media.get(key) == ACCEPTED
        assert env.settle(app.workflow.execution_arn(submission.video_id), timeout=120) == "SUCCEEDED"
        view = app.get_video(submission.video_id)
        assert view.status is VideoStatus.VALIDATED  # the accepted (on-campaign) bytes were analysed
        assert view.video_url is not None
        assert parse_qs(urlsplit(view.video_url).query)["versionId"] == [first]
        assert requests.get(view.video_url, timeout=30).content == ACCEPTED


def test_put_once_is_a_conditional_put_on_s3() -> None:
    with aws_app_on_moto() as env:
        store = env.app.ports.media
        assert isinstance(store, S3MediaStore)
        stored = store.put_once("vid_once.mp4", ACCEPTED)
        assert stored.created and stored.version and stored.sha256 == hashlib.sha256(ACCEPTED).hexdigest()
        again = store.put_once("vid_once.mp4", ACCEPTED)
        assert not again.created and again.version == stored.version
        with pytest.raises(ConflictError):
            store.put_once("vid_once.mp4", SWAPPED)
        s3 = env.session.client("s3", region_name=REGION)
        assert len(s3.list_object_versions(Bucket="milkmobs-media", Prefix="vid_once.mp4")["Versions"]) == 1
        assert store.sha256_of("vid_once.mp4", version=stored.version) == stored.sha256
