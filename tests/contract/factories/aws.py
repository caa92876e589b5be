"""AWS adapters on moto (in process), plugged into the port contract suites."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

pytest.importorskip("moto")

from moto import mock_aws  # noqa: E402

from milkmobs.adapters.aws.clients import AwsClients  # noqa: E402
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore  # noqa: E402
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore  # noqa: E402
from milkmobs.adapters.aws.tables import create_tables  # noqa: E402

REGION = "us-east-1"
VIDEOS_TABLE = "contract-videos"
MOBS_TABLE = "contract-mobs"
CURSOR_SECRET = "contract-cursor-secret"


@contextmanager
def _tables() -> Iterator[AwsClients]:
    with mock_aws():
        clients = AwsClients(REGION)
        create_tables(clients.dynamodb(), videos_table=VIDEOS_TABLE, mobs_table=MOBS_TABLE)
        yield clients


@contextmanager
def dynamodb_video_store() -> Iterator[DynamoDBVideoStore]:
    with _tables() as clients:
        yield DynamoDBVideoStore(clients.dynamodb(), VIDEOS_TABLE, cursor_secret=CURSOR_SECRET)


@contextmanager
def dynamodb_mob_store() -> Iterator[DynamoDBMobStore]:
    with _tables() as clients:
        yield DynamoDBMobStore(clients.dynamodb(), MOBS_TABLE)


VIDEO_STORES = {"DynamoDBVideoStore": dynamodb_video_store}
MOB_STORES = {"DynamoDBMobStore": dynamodb_mob_store}
