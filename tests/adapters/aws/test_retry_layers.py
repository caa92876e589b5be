"""One retry layer per kind of failure, counted through the whole stack (docs/architecture.md, "Retries").

The app runs on the AWS adapters (moto) with the in-process workflow, which applies the same retry
policies as the state machine. A botocore ``before-send`` hook answers the calls under test with a
throttling error and counts them: the count is botocore's tries and nothing more — no adapter or
analyzer loop, and no second run of the step by the workflow.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries.standard import ExponentialBackoff
from tests.unit.core_support import upload

from milkmobs.adapters.aws.clients import BEDROCK_MAX_ATTEMPTS, MAX_ATTEMPTS, shared_session
from milkmobs.adapters.aws.tables import create_tables
from milkmobs.adapters.memory.media_processor import FakeMediaProcessor
from milkmobs.adapters.memory.vector_index import InMemoryVectorIndex
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.domain import EVENT_BUS_NAME, BackendUnavailableError, ConflictError, VideoStatus
from milkmobs.settings import Backend, Settings

moto = pytest.importorskip("moto")

REGION = "us-east-1"
DIMENSION = 512  # Marengo 3.0's own: the Bedrock analyzer is the real one here


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _throttled(request: Any, headers: dict[str, str], body: dict[str, str], status: int) -> AWSResponse:
    return AWSResponse(request.url, status, headers, _Body(json.dumps(body).encode()))  # type: ignore[arg-type]


class CallCounter:
    """A ``before-send`` hook: answers the matching calls with a throttling error and counts them."""

    def __init__(self, matches: Callable[[Any], bool], respond: Callable[[Any], AWSResponse]) -> None:
        self.calls = 0
        self._matches = matches
        self._respond = respond

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self._matches(request):
            return None
        self.calls += 1
        return self._respond(request)


@contextmanager
def _aws_app(monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Iterator[MilkMobs]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)  # botocore's waits
    with moto.mock_aws():
        session = shared_session()
        create_tables(
            session.client("dynamodb", region_name=REGION), videos_table="milkmobs-videos", mobs_table="milkmobs-mobs"
        )
        session.client("s3", region_name=REGION).create_bucket(Bucket="milkmobs-media")
        session.client("events", region_name=REGION).create_event_bus(Name=EVENT_BUS_NAME)
        settings = Settings(
            backend=Backend.AWS,
            aws={"region": REGION, "media_bucket_owner": "123456789012", "cursor_secret": "retry-test-cursor-secret"},
            opensearch={"endpoint": "https://opensearch.invalid:443"},
        )
        app = build(settings, retry_interval_scale=0.0, index=InMemoryVectorIndex(DIMENSION),
                    media_processor=lambda adapters: FakeMediaProcessor(adapters.media), **overrides)  # fmt: skip
        try:
            yield app
        finally:
            app.close()


def _refuse_transactions(monkeypatch: pytest.MonkeyPatch, error: Callable[[], Exception]) -> list[int]:
    """moto's DynamoDB answers every transaction writing a ``processing`` video with ``error()``
    (MarkProcessing's write); returns the list its calls are counted in."""
    from moto.dynamodb.models import DynamoDBBackend

    calls: list[int] = []
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if '"status": {"S": "processing"}' in json.dumps(transact_items):
            calls.append(1)
            raise error()
        original(self, transact_items)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)
    return calls


def test_a_throttled_dynamodb_write_is_tried_by_botocore_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb.exceptions import DynamodbException

    from milkmobs.adapters.memory.analyzer import FakeAnalyzer

    calls = _refuse_transactions(monkeypatch, lambda: DynamodbException(
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "throttled"))  # fmt: skip
    with _aws_app(monkeypatch, analyzer=lambda a: FakeAnalyzer(a.media, dimension=DIMENSION)) as app:
        video = upload(app, hashtags=["gotmilk"])

    assert video.status is VideoStatus.FAILED and video.failure is not None
    assert "ProvisionedThroughputExceededException" in video.failure.error
    assert video.failure.step == "MarkProcessing" and video.failure.error_type == BackendUnavailableError.__name__
    assert video.video_id in video.failure.error and "TransactWriteItems" in video.failure.error
    # botocore's tries of the call, once: the workflow does not run the step again (it did: 3 × 4 = 12)
    assert len(calls) == MAX_ATTEMPTS == 4


def test_a_throttled_bedrock_call_is_tried_by_botocore_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _aws_app(monkeypatch) as app:
        analyzer = app.ports.analyzer
        counter = CallCounter(
            lambda request: request.url.endswith("/invoke"),  # InvokeModel (Pegasus)
            lambda request: _throttled(
                request, {"Content-Type": "application/json", "x-amzn-ErrorType": "ThrottlingException"},
                {"message": "Too many requests"}, 429),
        )  # fmt: skip
        analyzer._runtime.meta.events.register_first("before-send.bedrock-runtime", counter)  # type: ignore[attr-defined]
        # Marengo's job is answered as throttled too, so it cannot reach moto (which has no Bedrock)
        refused = CallCounter(
            lambda request: "/async-invoke" in request.url,
            lambda request: _throttled(
                request, {"Content-Type": "application/json", "x-amzn-ErrorType": "ThrottlingException"},
                {"message": "Too many requests"}, 429),
        )  # fmt: skip
        analyzer._runtime.meta.events.register_first("before-send.bedrock-runtime", refused)  # type: ignore[attr-defined]

        video = upload(app, hashtags=["gotmilk"])

        assert video.status is VideoStatus.FAILED and video.failure is not None
        assert "ThrottlingException" in video.failure.error
        assert video.failure.error_type == BackendUnavailableError.__name__
        assert f"after {BEDROCK_MAX_ATTEMPTS} attempt(s)" in video.failure.error
        # Bedrock's longer budget, once (it was botocore's 3 × the workflow's 5 runs = 15)
        assert counter.calls == BEDROCK_MAX_ATTEMPTS == 6


def test_a_version_conflict_is_retried_by_the_adapter_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transaction that keeps conflicting: the adapter's tries, no botocore retry, no workflow retry."""
    from moto.dynamodb.exceptions import TransactionCanceledException

    from milkmobs.adapters.aws.dynamodb_videos import WRITE_ATTEMPTS
    from milkmobs.adapters.memory.analyzer import FakeAnalyzer

    calls = _refuse_transactions(monkeypatch, lambda: TransactionCanceledException(
        [("TransactionConflict", "another transaction holds the item", None), (None, None, None)]))  # fmt: skip
    with _aws_app(monkeypatch, analyzer=lambda a: FakeAnalyzer(a.media, dimension=DIMENSION)) as app:
        video = upload(app, hashtags=["gotmilk"])

    assert video.status is VideoStatus.FAILED and video.failure is not None
    assert video.failure.error_type == ConflictError.__name__
    assert len(calls) == WRITE_ATTEMPTS == 6
