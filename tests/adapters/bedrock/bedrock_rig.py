"""Bedrock analyzer test rig: a real ``bedrock-runtime`` client under botocore's Stubber, S3 on moto.

moto's bedrock-runtime answers ``{}`` to everything and has no async invocations, so the
model side is stubbed with response bodies from ``tests/fixtures/bedrock`` (documented shapes);
S3 — the input video and the asynchronous ``output.json`` — is moto's.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from milkmobs.adapters.aws.bedrock import BedrockAnalyzerConfig, BedrockTwelveLabsAnalyzer
from milkmobs.domain import MediaInfo, Video

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bedrock"
REGION = "us-east-1"
BUCKET = "milkmobs-media-test"
OWNER = "123456789012"
VIDEO_ID = "0f8e2a6c1b3d4e5f8a9b0c1d2e3f4a5b"
ARN = f"arn:aws:bedrock:{REGION}:{OWNER}:async-invoke/abcdef123456"
T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


class Captured:
    """An ``expected_params`` value that accepts anything and keeps it, so tests can check it field by field."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __eq__(self, other: object) -> bool:
        self.values.append(other)
        return True

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def json(self) -> Any:
        assert len(self.values) == 1, f"captured {len(self.values)} values"
        value = self.values[0]
        return json.loads(value) if isinstance(value, str | bytes) else value


def invoke_response(raw: bytes, *, input_tokens: int | None = None, output_tokens: int | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if input_tokens is not None:
        headers["x-amzn-bedrock-input-token-count"] = str(input_tokens)
    if output_tokens is not None:
        headers["x-amzn-bedrock-output-token-count"] = str(output_tokens)
    return {
        "body": StreamingBody(io.BytesIO(raw), len(raw)),
        "contentType": "application/json",
        "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": headers},
    }


def async_status(status: str, *, failure: str | None = None, prefix: str = "embeddings/") -> dict[str, Any]:
    response: dict[str, Any] = {
        "invocationArn": ARN,
        "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/twelvelabs.marengo-embed-3-0-v1:0",
        "status": status,
        "submitTime": T0,
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/{prefix}"}},
    }
    if failure:
        response["failureMessage"] = failure
    return response


def make_video(*, duration: float | None = 11.5, key: str | None = None) -> Video:
    return Video(
        video_id=VIDEO_ID,
        user_id="user-1",
        media_key=key or f"vid_{VIDEO_ID}.mp4",
        created_at=T0,
        updated_at=T0,
        media=MediaInfo(duration_seconds=duration, has_audio=True) if duration is not None else None,
    )


@dataclass
class Rig:
    runtime: Any
    stubber: Stubber
    s3: Any
    sleeps: list[float] = field(default_factory=list)

    def analyzer(self, **overrides: Any) -> BedrockTwelveLabsAnalyzer:
        config = BedrockAnalyzerConfig(**{"region": REGION, "media_bucket": BUCKET, **overrides})
        return BedrockTwelveLabsAnalyzer(
            self.runtime,
            self.s3,
            config,
            bucket_owner=OWNER,
            sleep=self.sleeps.append,
            now=lambda: T0,
        )

    def put_video(self, video: Video, data: bytes = b"\x00\x00\x00\x18ftypmp42") -> None:
        self.s3.put_object(Bucket=BUCKET, Key=video.media_key, Body=data, ContentType="video/mp4")

    def put_output(self, name: str, *, prefix: str = "embeddings/") -> None:
        self.s3.put_object(Bucket=BUCKET, Key=f"{prefix}abcdef123456/output.json", Body=fixture_bytes(name))


_CACHE: dict[str, Any] = {}


def shared_session() -> boto3.session.Session:
    """One session for all tests: it caches the service models (moto resets boto3's default session)."""
    if "session" not in _CACHE:
        _CACHE["session"] = boto3.session.Session(region_name=REGION)
    return _CACHE["session"]  # type: ignore[no-any-return]


def shared_s3_client() -> Any:
    """One S3 client for all tests: building an S3 client costs ~0.2 s, and moto resets the data anyway."""
    if "s3" not in _CACHE:
        _CACHE["s3"] = shared_session().client("s3")
    return _CACHE["s3"]


def stubbed_rig() -> Iterator[Rig]:
    """A rig inside ``mock_aws`` with the media bucket created; the caller sets fake credentials."""
    with mock_aws():
        s3 = shared_s3_client()
        s3.create_bucket(Bucket=BUCKET)
        runtime = shared_session().client("bedrock-runtime")
        stubber = Stubber(runtime)
        with stubber:
            yield Rig(runtime=runtime, stubber=stubber, s3=s3)
