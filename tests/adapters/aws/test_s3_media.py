"""S3MediaStore on moto: the signed policy itself, a real upload over HTTP, versioned deletes, URLs."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from milkmobs.adapters.aws.s3_media import S3MediaStore
from milkmobs.domain.errors import ConfigurationError, InvalidInputError, NotFoundError

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(server_s3: tuple[Any, str]) -> S3MediaStore:
    client, bucket = server_s3
    return S3MediaStore(client, bucket, now=lambda: NOW)


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


def test_upload_policy_pins_key_type_size_and_expiry(store: S3MediaStore, server_s3: tuple[Any, str]) -> None:
    _, bucket = server_s3
    before = datetime.now(UTC)
    ticket = store.create_upload("vid_abc.mp4", content_type="video/mp4", max_bytes=12345, expires_in=300)
    policy = _policy(ticket.fields)
    conditions = policy["conditions"]
    assert {"bucket": bucket} in conditions
    assert {"key": "vid_abc.mp4"} in conditions  # exact key, not a starts-with prefix
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)
    assert {"Content-Type": "video/mp4"} in conditions
    assert ["content-length-range", 1, 12345] in conditions
    assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in conditions  # SigV4, not the legacy SigV2 fields
    expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before + timedelta(seconds=295) <= expiration <= datetime.now(UTC) + timedelta(seconds=301)
    assert ticket.fields["key"] == "vid_abc.mp4" and ticket.fields["Content-Type"] == "video/mp4"
    assert ticket.method == "POST" and ticket.expires_at == NOW + timedelta(seconds=300)


def test_upload_limit_must_be_positive(store: S3MediaStore) -> None:
    with pytest.raises(InvalidInputError):
        store.create_upload("vid_x.mp4", content_type="video/mp4", max_bytes=0, expires_in=60)


def test_real_multipart_upload_of_an_mp4_through_the_presigned_post(store: S3MediaStore, tiny_mp4: bytes) -> None:
    ticket = store.create_upload("vid_real.mp4", content_type="video/mp4", max_bytes=len(tiny_mp4), expires_in=120)
    response = requests.post(
        ticket.url, data=ticket.fields, files={"file": ("clip.mp4", tiny_mp4, "video/mp4")}, timeout=30
    )
    assert response.status_code == 204, response.text
    assert store.get("vid_real.mp4") == tiny_mp4
    assert tiny_mp4[4:8] == b"ftyp"  # it really is an mp4
    assert store.size("vid_real.mp4") == len(tiny_mp4)
    # the presigned GET serves the same bytes
    assert requests.get(store.read_url("vid_real.mp4", expires_in=60), timeout=30).content == tiny_mp4


def test_delete_removes_every_version_and_marker_but_not_neighbours(
    store: S3MediaStore, server_s3: tuple[Any, str]
) -> None:
    client, bucket = server_s3
    for body in (b"1", b"22", b"333"):
        store.put("vid_a.mp4", body)
    client.delete_object(Bucket=bucket, Key="vid_a.mp4")  # leaves a delete marker
    store.put("vid_a.mp4", b"4444")
    store.put("vid_a.mp4.bak", b"neighbour shares the prefix")
    thumb = store.put_thumbnail("a", b"\xff\xd8jpeg")
    store.put_thumbnail("a", b"\xff\xd8jpeg2")

    store.delete("vid_a.mp4")
    store.delete(thumb)
    store.delete("vid_a.mp4")  # idempotent

    listing = client.list_object_versions(Bucket=bucket)
    keys = {v["Key"] for v in listing.get("Versions", [])} | {m["Key"] for m in listing.get("DeleteMarkers", [])}
    assert keys == {"vid_a.mp4.bak"}
    assert not store.exists("vid_a.mp4")
    with pytest.raises(NotFoundError):
        store.get("vid_a.mp4")
    with pytest.raises(NotFoundError):
        store.size("vid_a.mp4")


def test_thumbnails_live_under_their_prefix_as_jpeg(store: S3MediaStore, server_s3: tuple[Any, str]) -> None:
    client, bucket = server_s3
    key = store.put_thumbnail("vid123", b"\xff\xd8\xff")
    assert key == "thumbnails/vid123.jpg"
    assert client.head_object(Bucket=bucket, Key=key)["ContentType"] == "image/jpeg"
    url = urlparse(store.thumbnail_url(key, expires_in=90))
    assert url.path.endswith("/thumbnails/vid123.jpg")
    assert parse_qs(url.query)["X-Amz-Expires"] == ["90"]


def test_uri_and_cloudfront_urls(server_s3: tuple[Any, str]) -> None:
    client, bucket = server_s3
    store = S3MediaStore(client, bucket, cloudfront_domain="https://d111.cloudfront.net/")
    assert store.uri("vid_1.mp4") == f"s3://{bucket}/vid_1.mp4"
    assert store.read_url("vid_1.mp4") == "https://d111.cloudfront.net/vid_1.mp4"
    assert store.thumbnail_url("thumbnails/v 1.jpg") == "https://d111.cloudfront.net/thumbnails/v%201.jpg"


def test_missing_bucket_is_a_configuration_error(server_s3: tuple[Any, str]) -> None:
    client, _ = server_s3
    store = S3MediaStore(client, "no-such-bucket-here")
    with pytest.raises(ConfigurationError, match="MILKMOBS_AWS__MEDIA_BUCKET"):
        store.put("vid_1.mp4", b"x")
