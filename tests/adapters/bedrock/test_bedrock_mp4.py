"""Reading an MP4's duration from its header with ranged reads (for per-second usage metrics)."""

from __future__ import annotations

import struct

import pytest
from tests.adapters.bedrock.bedrock_rig import Rig, fixture_bytes, invoke_response, make_video

from milkmobs.adapters.aws.bedrock.mp4 import mp4_duration_seconds
from milkmobs.domain import Campaign


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mvhd(version: int, timescale: int, duration: int) -> bytes:
    if version == 0:
        return box(b"mvhd", bytes([0, 0, 0, 0]) + struct.pack(">IIII", 0, 0, timescale, duration) + bytes(80))
    return box(b"mvhd", bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, timescale, duration) + bytes(80))


def reader(data: bytes, log: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    def read_range(start: int, end: int) -> bytes:
        log.append((start, end))
        return data[start : end + 1]

    return read_range


FTYP = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("faststart", 12.5),  # moov before mdat
        ("moov-last", 12.5),  # moov after a large mdat: skipped by its size, never read
        ("version-1", 3600.25),
    ],
)
def test_duration_from_mvhd(layout: str, expected: float) -> None:
    mdat = box(b"mdat", bytes(200_000))
    if layout == "faststart":
        data = FTYP + box(b"moov", mvhd(0, 1000, 12_500) + box(b"trak", bytes(50))) + mdat
    elif layout == "moov-last":
        data = FTYP + box(b"free", bytes(8)) + mdat + box(b"moov", box(b"udta", bytes(4)) + mvhd(0, 600, 7500))
    else:
        data = FTYP + box(b"moov", mvhd(1, 90_000, 324_022_500))
    log: list[tuple[int, int]] = []
    assert mp4_duration_seconds(reader(data, log), len(data)) == pytest.approx(expected)
    assert sum(end - start + 1 for start, end in log) < 70_000  # never the whole file


@pytest.mark.parametrize("data", [b"", b"not an mp4 at all, just text", FTYP + box(b"mdat", bytes(10))])
def test_not_an_mp4_is_unknown(data: bytes) -> None:
    assert mp4_duration_seconds(reader(data, []), len(data)) is None


def test_pegasus_usage_uses_the_file_duration_when_the_record_has_none(rig: Rig) -> None:
    video = make_video(duration=None)
    rig.put_video(video, FTYP + box(b"moov", mvhd(0, 1000, 9_000)) + box(b"mdat", bytes(1000)))
    rig.stubber.add_response("invoke_model", invoke_response(fixture_bytes("pegasus_insights.json")))

    (usage,) = rig.analyzer().describe_video(video, Campaign()).usage

    assert usage.video_seconds == pytest.approx(9.0)
