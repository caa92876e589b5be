"""boto3 clients with explicit retry and timeout settings.

botocore's defaults (legacy retry mode, 60 s read timeout) let a throttled or hung call hold a
Lambda for a minute. The ``standard`` retry mode retries throttling and transient 5xx errors
with exponential backoff and jitter, and the short timeouts turn a dead endpoint into a
``BackendUnavailableError`` quickly instead of a Lambda timeout.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

#: Data-plane calls (DynamoDB, EventBridge, CloudWatch, Step Functions) are small and fast.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
#: S3 moves video bytes, so it gets a longer read timeout.
S3_READ_TIMEOUT_SECONDS = 60
MAX_ATTEMPTS = 5


def client_config(*, read_timeout: int = READ_TIMEOUT_SECONDS, **extra: Any) -> Config:
    """The botocore ``Config`` every milkmobs AWS client uses (standard retries, short timeouts)."""
    return Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout,
        tcp_keepalive=True,
        **extra,
    )


def s3_config() -> Config:
    """S3 needs SigV4 explicitly: without it boto3 signs presigned POSTs with SigV2 fields."""
    return client_config(read_timeout=S3_READ_TIMEOUT_SECONDS, signature_version="s3v4")


_shared_lock = threading.Lock()
_shared: list[boto3.session.Session] = []


def shared_session() -> boto3.session.Session:
    """One process-wide boto3 session (created on first use).

    Loading a service model costs ~0.1 s per service per session; sharing one keeps Lambda cold
    starts and test set-ups from paying it again for every client. Sessions are not thread-safe,
    so clients are created under a lock; the clients themselves are.
    """
    with _shared_lock:
        if not _shared:
            _shared.append(boto3.session.Session())
        return _shared[0]


class AwsClients:
    """Builds the typed boto3 clients of one region from one session (clients are thread-safe).

    The endpoint comes from botocore's own configuration (``AWS_ENDPOINT_URL`` and the
    per-service ``AWS_ENDPOINT_URL_<SERVICE>`` variables), which is how tests point the
    clients at a moto server without a milkmobs setting.
    """

    def __init__(self, region: str, *, session: boto3.session.Session | None = None) -> None:
        self._region = region
        self._session = session or shared_session()

    def dynamodb(self) -> DynamoDBClient:
        with _shared_lock:
            return self._session.client("dynamodb", region_name=self._region, config=client_config())

    def s3(self) -> S3Client:
        with _shared_lock:
            return self._session.client("s3", region_name=self._region, config=s3_config())

    def events(self) -> EventBridgeClient:
        with _shared_lock:
            return self._session.client("events", region_name=self._region, config=client_config())

    def cloudwatch(self) -> CloudWatchClient:
        with _shared_lock:
            return self._session.client("cloudwatch", region_name=self._region, config=client_config())

    def stepfunctions(self) -> SFNClient:
        with _shared_lock:
            return self._session.client("stepfunctions", region_name=self._region, config=client_config())
