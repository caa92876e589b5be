"""Fixtures for the AWS adapter tests: moto in process, and moto's HTTP server for the wire."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer
from tests.adapters.aws.moto_support import atomic_dynamodb
from tests.media_support import make_mp4

from milkmobs.adapters.aws.clients import AwsClients, s3_config
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore
from milkmobs.adapters.aws.tables import create_tables

REGION = "us-east-1"
CURSOR_SECRET = "adapter-test-cursor-secret"


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # never reach a real account, whatever the developer's environment holds
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def aws() -> Iterator[AwsClients]:
    """moto in process: every boto3 call in the test goes to moto's backends."""
    with mock_aws():
        yield AwsClients(REGION)


@pytest.fixture
def tables(aws: AwsClients) -> AwsClients:
    create_tables(aws.dynamodb(), videos_table="videos", mobs_table="mobs")
    return aws


@pytest.fixture
def video_store(tables: AwsClients) -> DynamoDBVideoStore:
    return DynamoDBVideoStore(tables.dynamodb(), "videos", cursor_secret=CURSOR_SECRET)


@pytest.fixture
def mob_store(tables: AwsClients) -> DynamoDBMobStore:
    return DynamoDBMobStore(tables.dynamodb(), "mobs")


@pytest.fixture
def atomic_moto_dynamodb() -> Iterator[None]:
    """moto with DynamoDB's per-item atomicity (see ``moto_support.atomic_dynamodb``)."""
    with atomic_dynamodb():
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's real HTTP server on a free local port; yields its endpoint URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def server_s3(moto_server: str) -> tuple[object, str]:
    """An S3 client on the moto server and a fresh versioned bucket."""
    client = boto3.client("s3", endpoint_url=moto_server, region_name=REGION, config=s3_config())
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return client, bucket


@pytest.fixture(scope="session")
def tiny_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 1-second H.264 mp4 made with the bundled ffmpeg (lavfi test source)."""
    pytest.importorskip("imageio_ffmpeg")
    path = make_mp4(tmp_path_factory.mktemp("media") / "tiny.mp4", seconds=1, size="160x120", audio=False,
                    pattern="testsrc")  # fmt: skip
    return path.read_bytes()
