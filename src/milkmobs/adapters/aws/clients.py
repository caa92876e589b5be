"""Every boto3 client milkmobs makes, with one retry configuration.

Retries have one owner per kind of failure (docs/architecture.md, "Retries"): botocore's
``standard`` mode retries a call's throttling, 5xx and connection faults (exponential backoff with
full jitter, at most ``MAX_ATTEMPTS`` tries, ``BEDROCK_MAX_ATTEMPTS`` for Bedrock, whose quotas are
per minute); no adapter loops over those again, and the workflow does not run the step again when
the adapter reports what is left (``BackendUnavailableError``). The budgets come from
``milkmobs.core.limits``, where the step timeouts are derived to outlast them.

``standard``, not ``adaptive``: adaptive mode adds a client-side rate limiter that sleeps before
sending for as long as its token bucket says, so no step timeout could be derived from it, and a
Lambda container's limiter never sees the other containers' calls anyway. The short timeouts turn a
dead endpoint into a ``BackendUnavailableError`` quickly instead of a Lambda timeout.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from milkmobs.core.limits import LIMITS

if TYPE_CHECKING:
    from botocore.config import _RetryDict
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
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
#: Pegasus may take minutes on a long video; derived from the longest accepted video and shorter
#: than the analysis Lambdas' timeout (milkmobs.core.limits).
BEDROCK_READ_TIMEOUT_SECONDS = LIMITS.bedrock_read_timeout_seconds
BEDROCK_CONNECT_TIMEOUT_SECONDS = 10
#: Tries of one call, the first included, before its throttling or transient fault reaches the caller.
MAX_ATTEMPTS = LIMITS.aws_call_attempts
#: The same for Bedrock: its waits ride out a per-minute quota (``LIMITS.bedrock_retry_wait_seconds``).
BEDROCK_MAX_ATTEMPTS = LIMITS.bedrock_call_attempts
#: A text search's Bedrock call answers the API: fewer tries, short timeouts (core/limits.py).
BEDROCK_TEXT_MAX_ATTEMPTS = LIMITS.bedrock_text_call_attempts


def retries(attempts: int = MAX_ATTEMPTS) -> _RetryDict:
    """botocore's retry configuration: standard mode, ``attempts`` tries of a call."""
    return {"mode": "standard", "total_max_attempts": attempts}


def client_config(
    *,
    read_timeout: int = READ_TIMEOUT_SECONDS,
    connect_timeout: int = CONNECT_TIMEOUT_SECONDS,
    attempts: int = MAX_ATTEMPTS,
    **extra: Any,
) -> Config:
    """The botocore ``Config`` every milkmobs AWS client uses (standard retries, short timeouts)."""
    return Config(
        retries=retries(attempts),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        tcp_keepalive=True,
        **extra,
    )


def s3_config() -> Config:
    """S3 needs SigV4 explicitly: without it boto3 signs presigned POSTs with SigV2 fields."""
    return client_config(read_timeout=S3_READ_TIMEOUT_SECONDS, signature_version="s3v4")


def bedrock_config() -> Config:
    return client_config(
        read_timeout=BEDROCK_READ_TIMEOUT_SECONDS,
        connect_timeout=BEDROCK_CONNECT_TIMEOUT_SECONDS,
        attempts=BEDROCK_MAX_ATTEMPTS,
    )


def bedrock_text_config() -> Config:
    return client_config(
        read_timeout=LIMITS.bedrock_text_read_timeout_seconds,
        connect_timeout=LIMITS.bedrock_text_connect_timeout_seconds,
        attempts=BEDROCK_TEXT_MAX_ATTEMPTS,
    )


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
    """Builds the boto3 clients of one region from one session (clients are thread-safe).

    The endpoint comes from botocore's own configuration (``AWS_ENDPOINT_URL`` and the
    per-service ``AWS_ENDPOINT_URL_<SERVICE>`` variables), which is how tests point the
    clients at a moto server without a milkmobs setting.
    """

    def __init__(self, region: str, *, session: boto3.session.Session | None = None) -> None:
        self._region = region
        self._session = session or shared_session()

    @property
    def session(self) -> boto3.session.Session:
        return self._session

    def _client(self, service: str, config: Config) -> Any:
        with _shared_lock:
            return self._session.client(service, region_name=self._region, config=config)  # type: ignore[call-overload]

    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb", client_config())
        return client

    def s3(self) -> S3Client:
        client: S3Client = self._client("s3", s3_config())
        return client

    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self._client("events", client_config())
        return client

    def cloudwatch(self) -> CloudWatchClient:
        client: CloudWatchClient = self._client("cloudwatch", client_config())
        return client

    def stepfunctions(self) -> SFNClient:
        client: SFNClient = self._client("stepfunctions", client_config())
        return client

    def bedrock_runtime(self) -> BedrockRuntimeClient:
        client: BedrockRuntimeClient = self._client("bedrock-runtime", bedrock_config())
        return client

    def bedrock_runtime_for_text(self) -> BedrockRuntimeClient:
        """Bedrock for the text search, which answers the API (``bedrock_text_config``)."""
        client: BedrockRuntimeClient = self._client("bedrock-runtime", bedrock_text_config())
        return client

    def secretsmanager(self) -> Any:
        return self._client("secretsmanager", client_config())

    def sts(self) -> Any:
        return self._client("sts", client_config())

    def cloudfront(self) -> Any:
        return self._client("cloudfront", client_config())

    def lambda_(self) -> Any:
        return self._client("lambda", client_config())
