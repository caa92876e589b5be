"""MediaStore contract: objects, versions, thumbnails, URLs and presigned uploads.

Stores served by ``milkmobs serve`` (``ServedMediaStore``) must also enforce the upload
policy and their signed read URLs; S3 enforces those itself (and moto does not), so those
tests apply to served stores only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from milkmobs.domain import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MilkmobsError,
    NotFoundError,
    PayloadTooLargeError,
)
from milkmobs.ports import ServedMediaStore

KEY = "vid_0123456789abcdef0123456789abcdef.mp4"
DATA = b"\x00\x00\x00\x18ftypmp42 fake video bytes \xff\xfe"


def test_put_get_exists_size(media: Any) -> None:
    store, _ = media
    assert not store.exists(KEY)
    store.put(KEY, DATA)
    assert store.exists(KEY)
    assert store.get(KEY) == DATA
    assert store.size(KEY) == len(DATA)


def test_missing_objects_are_not_found(media: Any) -> None:
    store, _ = media
    with pytest.raises(NotFoundError):
        store.get(KEY)
    with pytest.raises(NotFoundError):
        store.size(KEY)


def test_a_second_put_replaces_what_get_returns(media: Any) -> None:
    store, _ = media
    store.put(KEY, b"first version")
    store.put(KEY, b"second")
    assert store.get(KEY) == b"second"
    assert store.size(KEY) == len(b"second")


def test_delete_removes_every_version_and_is_idempotent(media: Any) -> None:
    store, _ = media
    store.put(KEY, b"v1")
    store.put(KEY, b"v2")
    store.put("vid_other.mp4", b"other")
    store.delete(KEY)
    assert not store.exists(KEY)
    with pytest.raises(NotFoundError):
        store.get(KEY)  # not an older version either
    store.delete(KEY)  # already gone: no error
    assert store.get("vid_other.mp4") == b"other"


def test_uri_names_the_key(media: Any) -> None:
    store, _ = media
    store.put(KEY, DATA)
    uri = store.uri(KEY)
    assert "://" in uri and uri.endswith(KEY)


def test_read_url_is_an_http_url(media: Any) -> None:
    store, _ = media
    store.put(KEY, DATA)
    url = store.read_url(KEY, expires_in=60)
    assert urlsplit(url).scheme in {"http", "https"}


def test_thumbnails_are_stored_under_their_own_key(media: Any) -> None:
    store, _ = media
    jpeg = b"\xff\xd8\xff\xe0 tiny jpeg \xff\xd9"
    key = store.put_thumbnail("0123456789abcdef0123456789abcdef", jpeg)
    assert key != KEY and "0123456789abcdef0123456789abcdef" in key
    assert store.exists(key)
    assert store.get(key) == jpeg
    assert urlsplit(store.thumbnail_url(key, expires_in=60)).scheme in {"http", "https"}
    store.delete(key)
    assert not store.exists(key)


def _policy_documents(fields: dict[str, str]) -> list[Any]:
    """Decoded JSON of any base64 ``policy`` field (S3 and served stores both sign one)."""
    docs = []
    for name, value in fields.items():
        if name.lower() != "policy":
            continue
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                docs.append(json.loads(decode(value + "=" * (-len(value) % 4))))
                break
            except (binascii.Error, ValueError):
                continue
    return docs


def _has_range(node: Any, low: int, high: int) -> bool:
    """A list ending in ``[low, high]`` anywhere in the policy (S3: ``["content-length-range", 1, n]``)."""
    if isinstance(node, list):
        if len(node) >= 2 and node[-2:] == [low, high]:
            return True
        return any(_has_range(x, low, high) for x in node)
    if isinstance(node, dict):
        return any(_has_range(x, low, high) for x in node.values())
    return False


def test_create_upload_describes_a_form_post_limited_to_key_type_size_and_time(media: Any) -> None:
    store, _ = media
    before = datetime.now(UTC)
    ticket = store.create_upload(KEY, content_type="video/mp4", max_bytes=1000, expires_in=900)
    assert ticket.method == "POST"
    assert urlsplit(ticket.url).scheme in {"http", "https"}
    assert ticket.fields["key"] == KEY
    assert ticket.fields["Content-Type"] == "video/mp4"
    assert before + timedelta(seconds=890) <= ticket.expires_at <= datetime.now(UTC) + timedelta(seconds=910)
    # The size limit travels with the ticket: in a signed policy document (S3, memory) or as a field.
    in_policy = any(_has_range(doc, 1, 1000) for doc in _policy_documents(ticket.fields))
    assert in_policy or "1000" in ticket.fields.values(), "the ticket limits the size to 1..max_bytes"
    assert not store.exists(KEY), "creating a ticket stores nothing"


def test_an_upload_through_the_ticket_stores_the_file(media: Any) -> None:
    store, upload = media
    ticket = store.create_upload(KEY, content_type="video/mp4", max_bytes=len(DATA), expires_in=300)
    upload(ticket, DATA)
    assert store.exists(KEY)
    assert store.get(KEY) == DATA
    assert store.size(KEY) == len(DATA)


def test_put_once_never_replaces_and_answers_a_retry_of_the_same_bytes(media: Any) -> None:
    store, _ = media
    stored = store.put_once(KEY, DATA)
    assert stored.created and stored.key == KEY and stored.size_bytes == len(DATA)
    assert stored.sha256 == hashlib.sha256(DATA).hexdigest() == store.sha256_of(KEY, version=stored.version)
    again = store.put_once(KEY, DATA)
    assert not again.created and again.sha256 == stored.sha256
    with pytest.raises(ConflictError):
        store.put_once(KEY, DATA + b"swapped")
    assert store.get(KEY) == DATA
    with pytest.raises(InvalidInputError):
        store.put_once("vid_empty.mp4", b"")
    assert not store.exists("vid_empty.mp4")
    with pytest.raises(NotFoundError):
        store.sha256_of("vid_empty.mp4")


# -- served stores only ---------------------------------------------------------------------


def _served(media: Any) -> Any:
    store, _ = media
    if not isinstance(store, ServedMediaStore):
        pytest.skip("uploads and reads are served by the backend itself (S3), not by milkmobs")
    return store


def _refused(store: Any, fields: dict[str, str], data: bytes, error: type[MilkmobsError]) -> None:
    with pytest.raises(error):
        store.accept_upload(fields, data)
    assert not store.exists(fields.get("key", KEY)) and not store.exists(KEY), "a refused upload stores nothing"


def test_served_upload_refuses_oversize_and_empty_files(media: Any) -> None:
    store = _served(media)
    ticket = store.create_upload(KEY, content_type="video/mp4", max_bytes=10, expires_in=300)
    _refused(store, ticket.fields, b"x" * 11, PayloadTooLargeError)
    _refused(store, ticket.fields, b"", InvalidInputError)
    assert store.accept_upload(ticket.fields, b"x" * 10) == KEY
    assert store.get(KEY) == b"x" * 10


def test_served_upload_refuses_edited_or_missing_fields(media: Any) -> None:
    store = _served(media)
    fields = dict(store.create_upload(KEY, content_type="video/mp4", max_bytes=100, expires_in=300).fields)
    for name, value in fields.items():
        edited = value[:-1] + ("0" if value[-1:] != "0" else "1")
        _refused(store, {**fields, name: edited}, DATA, MilkmobsError)
        _refused(store, {k: v for k, v in fields.items() if k != name}, DATA, MilkmobsError)
    _refused(store, {**fields, "key": "vid_other.mp4"}, DATA, MilkmobsError)
    assert not store.exists("vid_other.mp4")
    _refused(store, {**fields, "Content-Type": "text/html"}, DATA, MilkmobsError)
    # Another ticket's signed values do not authorise this key.
    other = store.create_upload("vid_other.mp4", content_type="video/mp4", max_bytes=10**6, expires_in=300)
    _refused(store, {**other.fields, "key": KEY}, DATA, MilkmobsError)
    assert store.accept_upload(fields, DATA) == KEY  # the untouched form still works


def test_served_upload_checks_the_form_before_reading_the_file(media: Any) -> None:
    store = _served(media)
    fields = dict(store.create_upload(KEY, content_type="video/mp4", max_bytes=100, expires_in=300).fields)
    read: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"a" * 40, b"b" * 40, b"c" * 40):  # 120 bytes: past the form's 100
            read.append(chunk)
            yield chunk

    with pytest.raises(ForbiddenError):
        store.check_upload_form({**fields, "key": "vid_other.mp4"})
    policy = store.check_upload_form(fields)
    assert (policy.key, policy.content_type, policy.max_bytes) == (KEY, "video/mp4", 100)
    with pytest.raises(PayloadTooLargeError):
        store.store_upload(policy, chunks())
    assert len(read) == 3 and not store.exists(KEY)  # refused while streaming: nothing stored
    stored = store.store_upload(policy, iter([b"x" * 50, b"y" * 50]))
    assert stored.created and store.get(KEY) == b"x" * 50 + b"y" * 50
    assert not store.store_upload(policy, iter([b"x" * 50 + b"y" * 50])).created  # same bytes: a retry
    with pytest.raises(ConflictError):
        store.store_upload(policy, iter([b"z" * 100]))  # the accepted upload is pinned
    assert store.get(KEY) == b"x" * 50 + b"y" * 50


def _params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_served_read_urls_open_with_their_signature_only(media: Any) -> None:
    store = _served(media)
    store.put(KEY, DATA)
    thumb = store.put_thumbnail("abc", b"\xff\xd8jpeg")
    assert store.open_signed(KEY, _params(store.read_url(KEY, expires_in=60))) == DATA
    assert store.open_signed(thumb, _params(store.thumbnail_url(thumb, expires_in=60))) == b"\xff\xd8jpeg"
    params = _params(store.read_url(KEY, expires_in=60))
    with pytest.raises(ForbiddenError):
        store.open_signed(thumb, params)  # a signature is for one key only
    with pytest.raises(ForbiddenError):
        store.open_signed(KEY, {name: value + "x" for name, value in params.items()})
    with pytest.raises(ForbiddenError):
        store.open_signed(KEY, {})
    store.delete(KEY)
    with pytest.raises(NotFoundError):
        store.open_signed(KEY, params)


def test_served_uploads_and_read_urls_expire(media: Any) -> None:
    store = _served(media)
    store.put(KEY, DATA)
    ticket = store.create_upload("vid_late.mp4", content_type="video/mp4", max_bytes=100, expires_in=1)
    params = _params(store.read_url(KEY, expires_in=1))
    time.sleep(2.1)  # expiry has one-second resolution; the only wait in the suites
    with pytest.raises(ForbiddenError):
        store.accept_upload(ticket.fields, DATA)
    assert not store.exists("vid_late.mp4")
    with pytest.raises(ForbiddenError):
        store.open_signed(KEY, params)
