"""The FAKE media processor, the clocks and the id generators."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from milkmobs.adapters.memory import (
    FAKE_THUMBNAIL_JPEG,
    FakeMediaProcessor,
    FixedClock,
    InMemoryMediaStore,
    SequentialIdGenerator,
    SystemClock,
    UuidIdGenerator,
)
from milkmobs.domain import MediaError, Video

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _video(video_id: str) -> Video:
    return Video(video_id=video_id, user_id="u", media_key=f"vid_{video_id}.mp4", created_at=T0, updated_at=T0)


def test_probe_derives_duration_and_audio_from_the_bytes() -> None:
    media = InMemoryMediaStore(base_url="http://x", clock=FixedClock())
    processor = FakeMediaProcessor(media, bytes_per_second=1000)
    media.put("vid_a.mp4", b"x" * 5500)
    info = processor.probe(_video("a"))
    assert info.duration_seconds == 5.5 and info.size_bytes == 5500 and info.has_audio
    media.put("vid_b.mp4", b"no-audio")
    info = processor.probe(_video("b"))
    assert info.duration_seconds == 1.0 and not info.has_audio


def test_missing_or_empty_files_are_media_errors_naming_the_video() -> None:
    media = InMemoryMediaStore(base_url="http://x", clock=FixedClock())
    processor = FakeMediaProcessor(media)
    with pytest.raises(MediaError, match="missing1") as info:
        processor.probe(_video("missing1"))
    assert info.value.video_id == "missing1"
    media.put("vid_empty.mp4", b"")
    with pytest.raises(MediaError, match="empty"):
        processor.thumbnail(_video("empty"))


def test_the_fake_thumbnail_is_a_real_jpeg() -> None:
    media = InMemoryMediaStore(base_url="http://x", clock=FixedClock())
    media.put("vid_a.mp4", b"bytes")
    jpeg = FakeMediaProcessor(media).thumbnail(_video("a"))
    assert jpeg == FAKE_THUMBNAIL_JPEG
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG" and image.size == (8, 8)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    assert clock.advance(timedelta(hours=1)) == T0 + timedelta(hours=1, seconds=90)
    clock.set(T0 - timedelta(days=1))
    assert clock.now() == T0 - timedelta(days=1)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 1))  # naive
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))


def test_fixed_clock_step_gives_increasing_times() -> None:
    clock = FixedClock(T0, step=timedelta(milliseconds=1))
    times = [clock.now() for _ in range(3)]
    assert times == [T0, T0 + timedelta(milliseconds=1), T0 + timedelta(milliseconds=2)]


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_id_generators() -> None:
    sequential = SequentialIdGenerator()
    assert [sequential.new_id() for _ in range(2)] == ["0" * 31 + "1", "0" * 31 + "2"]
    uuid_ids = {UuidIdGenerator().new_id() for _ in range(100)}
    assert len(uuid_ids) == 100 and all(len(i) == 32 and int(i, 16) >= 0 for i in uuid_ids)


def test_sequential_ids_are_unique_across_threads() -> None:
    ids = SequentialIdGenerator()
    seen: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [ids.new_id() for _ in range(500)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 4000
