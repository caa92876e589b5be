"""The local server's WSGI app in process: S3's part (form uploads, signed media) and the API bridge."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from milkmobs.api.app import create_api
from milkmobs.api.auth import BearerTokenAuthorizer
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import InvalidInputError
from milkmobs.server.events import from_response, to_event
from milkmobs.server.multipart import parse_form
from milkmobs.server.wsgi import FORM_OVERHEAD_BYTES, LocalHttpApp
from milkmobs.settings import Settings

MAX = 50_000


@pytest.fixture
def app() -> Iterator[MilkMobs]:
    settings = Settings(backend="memory", uploads={"max_upload_bytes": MAX}, http={"public_base_url": "http://local"})
    with build(settings, retry_interval_scale=0, wait_scale=0) as application:
        yield application


@pytest.fixture
def wsgi(app: MilkMobs) -> LocalHttpApp:
    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer("t"))
    return LocalHttpApp(api.resolve, lambda: app, max_upload_bytes=MAX, cors_origins=["http://front.example"])


def _form(fields: dict[str, str], data: bytes, boundary: str = "b0undary") -> tuple[str, bytes]:
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
        f"Content-Type: video/mp4\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", out.getvalue()


def _call(
    wsgi: LocalHttpApp,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    payload = b"".join(wsgi(environ, start_response))
    return seen["status"], seen["headers"], payload


def test_multipart_is_byte_exact_even_with_delimiter_like_bytes() -> None:
    # A partial delimiter, and the boundary not preceded by CRLF (so not a delimiter): both are data.
    tricky = b"\r\n--b0undar\r\nx--b0undary--" + os.urandom(4096) + b"\r\n\r\n"
    content_type, body = _form({"key": "vid_x.mp4", "note": "h\u00e9"}, tricky)
    parts = parse_form(content_type, body)
    assert [p.name for p in parts] == ["key", "note", "file"]
    assert parts[1].data.decode() == "h\u00e9" and parts[2].data == tricky and parts[2].filename == "a.mp4"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--"),
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end'),
    ],
)
def test_malformed_forms_are_invalid_input(content_type: str, body: bytes) -> None:
    with pytest.raises(InvalidInputError):
        parse_form(content_type, body)


def test_upload_through_the_form_starts_the_pipeline(app: MilkMobs, wsgi: LocalHttpApp) -> None:
    data = b"GOT MILK drinking milk" + os.urandom(2000)
    sub = app.submit_video(SubmitRequest(user_id="u", hashtags=["gotmilk"], size_bytes=len(data)))
    content_type, body = _form(sub.upload.fields, data)
    status, headers, _ = _call(
        wsgi, "POST", "/uploads", body=body, headers={"Content-Type": content_type, "Origin": "http://front.example"}
    )
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "http://front.example"
    video = app.get_video(sub.video_id)
    assert video.status.value == "validated" and app.ports.media.get(video.media_key) == data

    assert video.video_url is not None
    path, _, query = video.video_url.removeprefix("http://local").partition("?")
    status, headers, payload = _call(wsgi, "GET", path, query=query, headers={"Range": "bytes=10-19"})
    assert status == 206 and payload == data[10:20] and headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert _call(wsgi, "GET", path, query=query.replace("signature=", "signature=0"))[0] == 403
    assert _call(wsgi, "GET", path, query=query, headers={"Range": f"bytes={len(data) + 5}-"})[0] == 416


def test_refused_uploads_store_nothing(app: MilkMobs, wsgi: LocalHttpApp) -> None:
    sub = app.submit_video(SubmitRequest(user_id="u"))
    too_big = _form(sub.upload.fields, b"x" * (MAX + 1))
    assert _call(wsgi, "POST", "/uploads", body=too_big[1], headers={"Content-Type": too_big[0]})[0] == 413
    way_too_big = _form(sub.upload.fields, b"x" * (MAX + FORM_OVERHEAD_BYTES))
    status, _, payload = _call(wsgi, "POST", "/uploads", body=way_too_big[1], headers={"Content-Type": way_too_big[0]})
    assert status == 413 and json.loads(payload)["error"]["code"] == "payload_too_large"
    no_file = (
        "multipart/form-data; boundary=q",
        b'--q\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--q--\r\n',
    )
    assert _call(wsgi, "POST", "/uploads", body=no_file[1], headers={"Content-Type": no_file[0]})[0] == 400
    assert not app.ports.media.exists(sub.video.media_key)
    assert app.get_video(sub.video_id).status.value == "pending_upload"


def test_cors_preflight_for_uploads_only_for_configured_origins(wsgi: LocalHttpApp) -> None:
    status, headers, _ = _call(wsgi, "OPTIONS", "/uploads", headers={"Origin": "http://front.example"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "http://front.example"
    status, headers, _ = _call(wsgi, "OPTIONS", "/uploads", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers


def test_api_requests_go_through_the_route_table(wsgi: LocalHttpApp) -> None:
    status, _, payload = _call(
        wsgi, "POST", "/videos/submit", body=b'{"userId": "u1"}', headers={"Content-Type": "application/json"}
    )
    assert status == 201 and json.loads(payload)["upload"]["url"] == "http://local/uploads"
    status, _, payload = _call(wsgi, "GET", "/videos/user", query="userId=u1&limit=5")
    assert status == 200 and len(json.loads(payload)["videos"]) == 1


def test_events_round_trip_binary_and_repeated_values() -> None:
    event = to_event(
        "POST", "/x", "a=1&a=2&b=", [("X-T", "1"), ("X-T", "2"), ("Content-Type", "video/mp4")], b"\xff\x00"
    )
    assert event["isBase64Encoded"] is True and event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["multiValueHeaders"]["x-t"] == ["1", "2"] and event["headers"]["x-t"] == "2"
    status, headers, body = from_response(
        {"statusCode": 201, "body": "AAE=", "isBase64Encoded": True, "multiValueHeaders": {"Set-Cookie": ["a", "b"]}}
    )
    assert (status, body) == (201, b"\x00\x01") and headers == [("Set-Cookie", "a"), ("Set-Cookie", "b")]


def _post_form(wsgi: LocalHttpApp, fields: dict[str, str], data: bytes) -> tuple[int, dict[str, Any]]:
    content_type, body = _form(fields, data)
    status, _, payload = _call(wsgi, "POST", "/uploads", body=body, headers={"Content-Type": content_type})
    return status, (json.loads(payload) if payload else {})


def test_an_accepted_upload_is_pinned_a_retry_is_answered_and_other_bytes_are_refused(
    app: MilkMobs, wsgi: LocalHttpApp
) -> None:
    data = b"GOT MILK drinking milk" + os.urandom(2000)
    sub = app.submit_video(SubmitRequest(user_id="u", hashtags=["gotmilk"]))
    assert _post_form(wsgi, sub.upload.fields, data)[0] == 204
    accepted = app.ports.videos.get(sub.video_id)
    assert accepted.status.value == "validated"
    status, answer = _post_form(wsgi, sub.upload.fields, b"something never analysed")
    assert status == 409 and answer["error"]["code"] == "conflict" and sub.video.media_key in answer["error"]["message"]
    assert _post_form(wsgi, sub.upload.fields, data)[0] == 204  # the lost answer of the first post, asked again
    assert app.ports.media.get(accepted.media_key) == data and app.ports.media.version_count(accepted.media_key) == 1
    assert app.ports.videos.get(sub.video_id) == accepted and len(app.execution_history(sub.video_id)) == 1


def test_the_form_of_a_deleted_video_stores_nothing(app: MilkMobs, wsgi: LocalHttpApp) -> None:
    sub = app.submit_video(SubmitRequest(user_id="u"))
    app.delete_video(sub.video_id)
    status, answer = _post_form(wsgi, sub.upload.fields, b"GOT MILK")
    assert status == 404 and answer["error"]["code"] == "not_found"
    assert not app.ports.media.exists(sub.video.media_key)


class _CountingInput(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk


def test_the_form_is_checked_before_the_file_is_read(app: MilkMobs) -> None:
    big = 4 * 1024 * 1024
    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer("t"))
    server = LocalHttpApp(api.resolve, lambda: app, max_upload_bytes=big)
    sub = app.submit_video(SubmitRequest(user_id="u"))
    content_type, body = _form({**sub.upload.fields, "signature": "forged"}, b"x" * (big - 10))
    stream = _CountingInput(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/uploads",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": stream,
    }
    seen: list[str] = []
    payload = b"".join(server(environ, lambda status, headers: seen.append(status)))
    assert seen[0].startswith("403") and json.loads(payload)["error"]["code"] == "forbidden"
    assert stream.read_bytes <= 128 * 1024, f"read {stream.read_bytes} of {len(body)} bytes before refusing"


def test_submit_honours_the_idempotency_key_header(app: MilkMobs, wsgi: LocalHttpApp) -> None:
    body = json.dumps({"userId": "u", "title": "milk"}).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": "2f6c-retry"}
    first = _call(wsgi, "POST", "/videos/submit", body=body, headers=headers)
    again = _call(wsgi, "POST", "/videos/submit", body=body, headers=headers)
    assert first[0] == again[0] == 201
    assert json.loads(first[2])["videoId"] == json.loads(again[2])["videoId"]
    other = json.dumps({"userId": "u", "title": "another video"}).encode()
    status, _, payload = _call(wsgi, "POST", "/videos/submit", body=other, headers=headers)
    error = json.loads(payload)["error"]
    assert status == 409 and error["code"] == "idempotency_key_reused"
    assert error["videoId"] == json.loads(first[2])["videoId"]
    assert app.stats().total_videos == 1


def test_a_second_upload_of_the_same_file_answers_409_naming_the_first(app: MilkMobs, wsgi: LocalHttpApp) -> None:
    data = b"GOT MILK drinking milk" + os.urandom(500)
    first = app.submit_video(SubmitRequest(user_id="u", hashtags=["gotmilk"]))
    assert _post_form(wsgi, first.upload.fields, data)[0] == 204
    second = app.submit_video(SubmitRequest(user_id="u", hashtags=["gotmilk"]))
    status, answer = _post_form(wsgi, second.upload.fields, data)
    assert status == 409 and answer["error"]["code"] == "duplicate_content"
    assert first.video_id in answer["error"]["message"]
    assert not app.ports.media.exists(second.video.media_key)
    assert app.get_video(second.video_id).status.value == "failed"
    assert _post_form(wsgi, second.upload.fields, data)[0] == 409  # its form stores nothing any more
    assert not app.ports.media.exists(second.video.media_key)


def test_browsers_may_send_the_idempotency_key_cross_origin(app: MilkMobs) -> None:
    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer("t"), cors_origins=["http://front.example"])
    server = LocalHttpApp(api.resolve, lambda: app, max_upload_bytes=MAX, cors_origins=["http://front.example"])
    status, headers, _ = _call(
        server,
        "OPTIONS",
        "/videos/submit",
        headers={
            "Origin": "http://front.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )
    assert status == 204 and "idempotency-key" in headers["Access-Control-Allow-Headers"].lower()
