"""LocalMediaStore beyond the contract suite: files on disk, key safety, the secret, signed URLs."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from tests.contract.support import T0

from milkmobs.adapters.local.media_folder import (
    FIELD_MAX_BYTES,
    FIELD_SIGNATURE,
    LocalMediaStore,
    load_or_create_secret,
)
from milkmobs.adapters.memory import FixedClock
from milkmobs.domain import (
    BackendUnavailableError,
    ForbiddenError,
    InvalidInputError,
    MilkmobsError,
    NotFoundError,
    PayloadTooLargeError,
)
from milkmobs.ports import ServedMediaStore

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def store(tmp_path: Path, clock: FixedClock) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media", secret=b"s" * 64, public_base_url=BASE, clock=clock)


def _split(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return unquote(parts.path.removeprefix("/media/")), dict(parse_qsl(parts.query))


def test_it_is_a_served_media_store_with_files_where_path_for_says(store: LocalMediaStore) -> None:
    assert isinstance(store, ServedMediaStore)
    store.put("vid_a.mp4", b"video bytes")
    path = store.path_for("vid_a.mp4")
    assert path.read_bytes() == b"video bytes"
    assert store.uri("vid_a.mp4") == path.as_uri() and store.uri("vid_a.mp4").startswith("file:///")
    key = store.put_thumbnail("a", b"\xff\xd8jpeg")
    assert key == "thumbnails/a.jpg" and store.path_for(key).parent.name == "thumbnails"


def test_writes_replace_whole_files_and_leave_no_temporaries(store: LocalMediaStore) -> None:
    store.put("vid_a.mp4", b"first version, longer")
    store.put("vid_a.mp4", b"second")
    assert store.get("vid_a.mp4") == b"second"
    assert list((store.root / ".tmp").iterdir()) == []
    store.delete("vid_a.mp4")
    store.delete("vid_a.mp4")  # idempotent
    assert not store.exists("vid_a.mp4")
    with pytest.raises(NotFoundError):
        store.get("vid_a.mp4")


def test_concurrent_writers_never_expose_a_mixed_file(store: LocalMediaStore) -> None:
    payloads = [bytes([i]) * 200_000 for i in range(6)]
    seen: list[bytes] = []
    threads = [threading.Thread(target=store.put, args=("vid_x.mp4", data)) for data in payloads]
    for thread in threads:
        thread.start()
        if store.exists("vid_x.mp4"):
            seen.append(store.get("vid_x.mp4"))
    for thread in threads:
        thread.join()
    seen.append(store.get("vid_x.mp4"))
    assert all(data in payloads for data in seen)


UNSAFE_KEYS = ["../escape.mp4", "/etc/passwd", "a/../../b", ".tmp/x", "", "a\\b", "a//b", "x\x00", "a.mp4\n", "a/"]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_are_refused(store: LocalMediaStore, key: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        store.put(key, b"x")
    assert caught.value.field == "key"
    with pytest.raises(InvalidInputError):
        store.read_url(key)


def test_a_read_url_names_the_key_as_it_is_and_opens_it(store: LocalMediaStore) -> None:
    """Safe keys hold only URL-unreserved characters, so the URL carries them unquoted."""
    store.put("videos/clip-1_a.b.mp4", b"data")
    url = store.read_url("videos/clip-1_a.b.mp4", expires_in=60)
    path, _, query = url.partition("?")
    assert path.endswith("/media/videos/clip-1_a.b.mp4")
    params = dict(part.split("=", 1) for part in query.split("&"))
    assert store.open_signed("videos/clip-1_a.b.mp4", params) == b"data"


def test_the_secret_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    first = load_or_create_secret(path)
    assert load_or_create_secret(path) == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    assert load_or_create_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened again
    assert load_or_create_secret(tmp_path / "other" / "secret.key") != first


def test_uploads_check_the_signed_policy(store: LocalMediaStore, clock: FixedClock) -> None:
    ticket = store.create_upload("vid_u.mp4", content_type="video/mp4", max_bytes=10, expires_in=60)
    assert ticket.url == f"{BASE}/uploads" and ticket.expires_at == T0 + timedelta(seconds=60)
    with pytest.raises(ForbiddenError):
        store.accept_upload({**ticket.fields, FIELD_MAX_BYTES: "1000"}, b"x" * 20)  # raised limit
    with pytest.raises(ForbiddenError):
        store.accept_upload({**ticket.fields, "key": "vid_other.mp4"}, b"x")
    with pytest.raises(ForbiddenError):
        store.accept_upload({**ticket.fields, FIELD_SIGNATURE: "0" * 64}, b"x")
    with pytest.raises(InvalidInputError):
        store.accept_upload({k: v for k, v in ticket.fields.items() if k != FIELD_SIGNATURE}, b"x")
    with pytest.raises(PayloadTooLargeError):
        store.accept_upload(ticket.fields, b"x" * 11)
    with pytest.raises(InvalidInputError):
        store.accept_upload(ticket.fields, b"")
    assert not store.exists("vid_u.mp4") and not store.exists("vid_other.mp4")
    assert store.accept_upload(ticket.fields, b"x" * 10) == "vid_u.mp4"
    clock.advance(61)
    with pytest.raises(ForbiddenError, match="expired"):
        store.accept_upload(ticket.fields, b"y")
    assert store.get("vid_u.mp4") == b"x" * 10


def test_read_urls_are_signed_per_key_and_expire(store: LocalMediaStore, clock: FixedClock) -> None:
    store.put("vid_r.mp4", b"movie")
    store.put("vid_s.mp4", b"other")
    key, params = _split(store.read_url("vid_r.mp4", expires_in=30))
    assert key == "vid_r.mp4" and store.open_signed(key, params) == b"movie"
    with pytest.raises(ForbiddenError):
        store.open_signed("vid_s.mp4", params)  # a signature for another key
    with pytest.raises(ForbiddenError):
        store.open_signed(key, {**params, "expires": str(int(params["expires"]) + 3600)})
    with pytest.raises(ForbiddenError):
        store.open_signed(key, {})
    thumb = store.put_thumbnail("r", b"jpeg")
    tkey, tparams = _split(store.thumbnail_url(thumb))
    assert tkey == thumb and store.open_signed(tkey, tparams) == b"jpeg"
    clock.advance(31)
    with pytest.raises(ForbiddenError, match="expired"):
        store.open_signed(key, params)


def test_a_signed_url_for_a_deleted_file_is_not_found(store: LocalMediaStore) -> None:
    store.put("vid_d.mp4", b"gone soon")
    key, params = _split(store.read_url("vid_d.mp4"))
    store.delete("vid_d.mp4")
    with pytest.raises(NotFoundError):
        store.open_signed(key, params)


def test_another_data_directory_cannot_sign_for_this_one(tmp_path: Path, clock: FixedClock) -> None:
    mine = LocalMediaStore(tmp_path / "a", secret=b"a" * 64, public_base_url=BASE, clock=clock)
    theirs = LocalMediaStore(tmp_path / "b", secret=b"b" * 64, public_base_url=BASE, clock=clock)
    ticket = theirs.create_upload("vid_z.mp4", content_type="video/mp4", max_bytes=10, expires_in=60)
    with pytest.raises(ForbiddenError):
        mine.accept_upload(ticket.fields, b"x")


def test_a_failed_write_is_backend_unavailable_and_leaves_no_temporary(store: LocalMediaStore) -> None:
    store.path_for("vid_blocked.mp4").mkdir(parents=True)  # something in the way that os.replace cannot replace
    with pytest.raises(BackendUnavailableError, match=r"vid_blocked\.mp4"):
        store.put("vid_blocked.mp4", b"data")
    assert list((store.root / ".tmp").iterdir()) == []


def test_abandoned_temp_files_are_removed_at_start_up_but_not_live_ones(tmp_path: Path, clock: FixedClock) -> None:
    import fcntl

    root = tmp_path / "media"
    first = LocalMediaStore(root, secret=b"s" * 32, public_base_url=BASE, clock=clock)
    crashed = root / ".tmp" / "upload-crashed.part"
    crashed.write_bytes(b"half a video")  # what a killed server leaves behind
    live = root / ".tmp" / "upload-live.part"
    live.write_bytes(b"being written")
    with live.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # another process is writing it right now
        LocalMediaStore(root, secret=b"s" * 32, public_base_url=BASE, clock=clock)
        assert not crashed.exists() and live.exists()
    assert first.root == root.resolve()


def test_a_failed_upload_leaves_no_temp_file(store: LocalMediaStore) -> None:
    ticket = store.create_upload("vid_t.mp4", content_type="video/mp4", max_bytes=10, expires_in=60)
    policy = store.check_upload_form(ticket.fields)

    def broken() -> Iterator[bytes]:
        yield b"12345"
        raise OSError("the client went away")

    with pytest.raises(MilkmobsError):
        store.store_upload(policy, broken())
    with pytest.raises(PayloadTooLargeError):
        store.store_upload(policy, iter([b"x" * 6, b"x" * 6]))
    assert list((store.root / ".tmp").iterdir()) == [] and not store.exists("vid_t.mp4")
