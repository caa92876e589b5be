"""Uploads are checked first and streamed: a real ``milkmobs serve`` keeps its memory flat under
concurrent large uploads, refused and accepted alike, and leaves no partial file behind."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.e2e._serve_process import ServerProcess, serve

UPLOAD_BYTES = 40 * 1024 * 1024
REFUSED = 3
ACCEPTED = 2
_BLOCK = os.urandom(1024 * 1024)


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _server_pids(root: int) -> list[int]:
    """The server process and its descendants running milkmobs (ffmpeg helpers are not the server)."""
    pids, queue = [], [root]
    while queue:
        pid = queue.pop()
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        if b"milkmobs" in command:
            pids.append(pid)
        queue.extend(int(child) for child in children)
    return pids


def _peak_rss_mb(root: int) -> float:
    return sum(_status_kb(pid, "VmHWM") for pid in _server_pids(root)) / 1024


def _request(base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return response.status, (json.loads(payload) if payload else None)
    finally:
        connection.close()


def _submit(base: str, size: int) -> dict[str, Any]:
    status, answer = _request(
        base,
        "POST",
        "/videos/submit",
        json.dumps({"userId": "big-uploader", "sizeBytes": size}),
        {"Content-Type": "application/json"},
    )
    assert status == 201, answer
    return dict(answer)


def _form_head_and_tail(fields: dict[str, str], boundary: str) -> tuple[bytes, bytes]:
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'.encode()
    head += b"Content-Type: video/mp4\r\n\r\n"
    return head, f"\r\n--{boundary}--\r\n".encode()


def _file_blocks(size: int, salt: bytes) -> Iterator[bytes]:
    yield salt
    sent = len(salt)
    while sent < size:
        block = _BLOCK[: min(len(_BLOCK), size - sent)]
        sent += len(block)
        yield block


def _upload(base: str, fields: dict[str, str], size: int, salt: bytes) -> tuple[int, Any]:
    """Stream a form of ``size`` file bytes to ``/uploads`` (the client never holds the file either)."""
    boundary = uuid.uuid4().hex
    head, tail = _form_head_and_tail(fields, boundary)

    def body() -> Iterator[bytes]:
        yield head
        yield from _file_blocks(size, salt)
        yield tail

    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
    }
    return _request(base, "POST", "/uploads", body(), headers)  # type: ignore[no-any-return]


def _expected_sha256(size: int, salt: bytes) -> str:
    digest = hashlib.sha256()
    for block in _file_blocks(size, salt):
        digest.update(block)
    return digest.hexdigest()


def _wait_settled(server: ServerProcess, video_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, video = _request(server.url, "GET", f"/videos/{video_id}")
        assert status == 200, video
        if video["status"] not in ("pending_upload", "uploaded", "processing") or time.monotonic() > deadline:
            return dict(video)
        time.sleep(0.2)


@pytest.mark.timeout(600)
def test_concurrent_large_uploads_keep_the_server_memory_flat(tmp_path: Path) -> None:
    # One HTTP process, so the warm-up below warms the process that then takes every upload.
    env = {
        "MILKMOBS_UPLOADS__MAX_UPLOAD_BYTES": str(UPLOAD_BYTES),
        "MILKMOBS_LOCAL__WORKERS": "1",
        "MILKMOBS_HTTP__WORKERS": "1",
    }
    with serve(tmp_path / "data", env=env) as server:
        # Warm every path an upload takes (route table, form check, store, the pipeline's failure path
        # for bytes that are not a video) so the baseline already holds what they import.
        warm = _submit(server.url, 4096)
        assert _upload(server.url, warm["upload"]["fields"], 4096, b"warm")[0] == 204
        _wait_settled(server, warm["videoId"])
        forged = _submit(server.url, UPLOAD_BYTES)["upload"]["fields"]
        assert _upload(server.url, {**forged, "x-milkmobs-signature": "0" * 64}, 4096, b"warm")[0] == 403
        baseline = _peak_rss_mb(server.process.pid)

        accepted = [_submit(server.url, UPLOAD_BYTES) for _ in range(ACCEPTED)]
        jobs: list[tuple[dict[str, str], bytes]] = [
            (dict(sub["upload"]["fields"]), f"accepted-{i}".encode()) for i, sub in enumerate(accepted)
        ]
        jobs += [({**forged, "x-milkmobs-signature": "f" * 64}, f"refused-{i}".encode()) for i in range(REFUSED)]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            answers = list(pool.map(lambda job: _upload(server.url, job[0], UPLOAD_BYTES, job[1]), jobs))
        peak = _peak_rss_mb(server.process.pid)

        assert [status for status, _ in answers] == [204] * ACCEPTED + [403] * REFUSED, answers
        assert all(answer["error"]["code"] == "forbidden" for _, answer in answers[ACCEPTED:])
        for i, sub in enumerate(accepted):
            video = _wait_settled(server, sub["videoId"])
            assert video["contentSha256"] == _expected_sha256(UPLOAD_BYTES, f"accepted-{i}".encode())
        growth = peak - baseline
        print(f"server peak RSS {baseline:.0f} MB -> {peak:.0f} MB under {len(jobs)} concurrent 40 MB uploads")
        # O(chunk) per upload: five 40 MB bodies in flight add far less than one of them.
        assert growth < UPLOAD_BYTES / (1024 * 1024) / 2, f"peak RSS grew by {growth:.0f} MB"
    leftovers = list((tmp_path / "data" / "media" / ".tmp").iterdir())
    assert leftovers == [], leftovers
