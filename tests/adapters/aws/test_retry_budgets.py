"""botocore owns a call's throttling: every client kind tries exactly its budget, then one typed error.

Real botocore retry handlers (standard mode, as ``AwsClients`` configures them) run against an
HTTP-level fault injector: a ``before-send`` hook answers every attempt with the service's own
throttling error, in its protocol's wire format, and counts the attempts. The waits botocore
computes are recorded (and not slept) so the test also holds them to the ceiling the step
timeouts are derived from (``milkmobs.core.limits``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff

from milkmobs.adapters.aws.clients import BEDROCK_MAX_ATTEMPTS, BEDROCK_TEXT_MAX_ATTEMPTS, MAX_ATTEMPTS, AwsClients
from milkmobs.adapters.aws.cloudwatch import CloudWatchMetrics
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore
from milkmobs.adapters.aws.eventbridge import EventBridgeEventBus
from milkmobs.adapters.aws.factory_models import build_analyzer
from milkmobs.adapters.aws.s3_media import S3MediaStore
from milkmobs.adapters.aws.stepfunctions import StepFunctionsWorkflow
from milkmobs.core.limits import (
    LIMITS,
    RETRY_AFTER_EXTRA_SECONDS,
    RETRY_WAIT_BASE_SECONDS,
    RETRY_WAIT_CAP_SECONDS,
    retry_wait_seconds,
)
from milkmobs.domain import BackendUnavailableError, ModelType, VideoAnalyzed, VideoStatus
from milkmobs.settings import Settings

REGION = "us-east-1"

#: One cheap call per client kind. A client kind added to ``AwsClients`` without a line here fails
#: ``test_every_client_kind_is_covered``.
CALLS: dict[str, Callable[[Any], object]] = {
    "dynamodb": lambda c: c.describe_table(TableName="milkmobs-videos"),
    "s3": lambda c: c.get_object(Bucket="milkmobs-media", Key="videos/v.mp4"),
    "events": lambda c: c.list_event_buses(),
    "cloudwatch": lambda c: c.list_metrics(),
    "stepfunctions": lambda c: c.list_state_machines(),
    "bedrock_runtime": lambda c: c.invoke_model(modelId="twelvelabs.pegasus-1-2-v1:0", body=b"{}"),
    "bedrock_runtime_for_text": lambda c: c.invoke_model(modelId="twelvelabs.marengo-embed-2-7-v1:0", body=b"{}"),
    "secretsmanager": lambda c: c.get_secret_value(SecretId="cursor"),
    "sts": lambda c: c.get_caller_identity(),
    "cloudfront": lambda c: c.list_distributions(),
    "lambda_": lambda c: c.list_functions(),
}
#: The budget each client kind must have: Bedrock's rides out a per-minute quota.
BUDGETS = {"bedrock_runtime": BEDROCK_MAX_ATTEMPTS, "bedrock_runtime_for_text": BEDROCK_TEXT_MAX_ATTEMPTS}


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 24  # a one-byte CBOR header is enough for these short strings
    return bytes([0x60 + len(data)]) + data


def _throttling(protocol: str) -> tuple[int, dict[str, str], bytes]:
    """The service's throttling answer in its protocol's wire format (status, headers, body)."""
    if protocol == "json":
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
            {"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()  # fmt: skip
    if protocol == "rest-json":
        return 429, {"Content-Type": "application/json", "x-amzn-ErrorType": "ThrottlingException"}, json.dumps(
            {"message": "Rate exceeded"}).encode()  # fmt: skip
    if protocol == "smithy-rpc-v2-cbor":
        body = b"\xa2" + _cbor_text("__type") + _cbor_text("ThrottlingException")
        body += _cbor_text("message") + _cbor_text("Rate exceeded")
        return 400, {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}, body
    if protocol == "rest-xml":  # S3 answers SlowDown with a bare <Error>
        return 503, {"Content-Type": "application/xml"}, (
            b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")  # fmt: skip
    assert protocol == "query", protocol
    return 400, {"Content-Type": "text/xml"}, (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
        b"</Error><RequestId>r</RequestId></ErrorResponse>")  # fmt: skip


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Throttler:
    """A ``before-send`` hook: every attempt of every call is answered as throttled, and counted."""

    def __init__(self, client: Any) -> None:
        self.attempts = 0
        model = client.meta.service_model
        self._answer = _throttling(getattr(model, "resolved_protocol", None) or model.protocol)
        event = f"before-send.{client.meta.service_model.service_id.hyphenize()}"
        client.meta.events.register_first(event, self)

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        self.attempts += 1
        status, headers, body = self._answer
        return AWSResponse(request.url, status, headers, _Body(body))  # type: ignore[arg-type]


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> AwsClients:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return AwsClients(REGION, session=boto3.session.Session())  # a fresh session: fresh retry quotas


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's own computed waits, each at its ceiling (jitter drawing 1.0), recorded, not slept."""
    computed: list[float] = []
    original = ExponentialBackoff.delay_amount

    def delay_amount(self: ExponentialBackoff, context: Any) -> float:
        self._random = lambda: 1.0
        computed.append(original(self, context))
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", delay_amount)
    return computed


def test_every_client_kind_is_covered() -> None:
    kinds = {name for name in vars(AwsClients) if not name.startswith("_") and name != "session"}
    assert kinds == set(CALLS)


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_throttled_call_is_tried_exactly_its_budget(clients: AwsClients, waits: list[float], kind: str) -> None:
    client = getattr(clients, kind)()
    budget = BUDGETS.get(kind, MAX_ATTEMPTS)
    throttler = Throttler(client)

    with pytest.raises(ClientError) as caught:
        CALLS[kind](client)

    assert throttler.attempts == budget
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == budget - 1
    assert caught.value.response["Error"]["Code"] in {"ThrottlingException", "Throttling", "SlowDown"}
    # throttling waits (1 s base, not 50 ms), within the ceiling the timeouts are derived from
    assert len(waits) == budget - 1 and waits[0] == RETRY_WAIT_BASE_SECONDS
    assert sum(waits) <= retry_wait_seconds(budget)


def test_the_derived_ceiling_is_botocore_s_own_backoff() -> None:
    """Held to botocore's ``ExponentialBackoff``: an upgrade changing its waits fails here, not in AWS."""
    assert ExponentialBackoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"] == RETRY_WAIT_BASE_SECONDS
    assert ExponentialBackoff._MAX_BACKOFF == RETRY_WAIT_CAP_SECONDS
    assert ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL == RETRY_AFTER_EXTRA_SECONDS

    class Context:  # a throttled answer asking for a very long wait (x-amz-retry-after, in ms)
        def __init__(self, attempt: int) -> None:
            self.attempt_number = attempt
            self.http_response = AWSResponse("https://x", 429, {"x-amz-retry-after": "3600000"}, None)  # type: ignore[arg-type]

    class Throttled:
        def is_throttling_error_from_context(self, context: object) -> bool:
            return True

    backoff = ExponentialBackoff(random=lambda: 1.0, throttling_detector=Throttled())
    for attempts in (1, 2, LIMITS.aws_call_attempts, LIMITS.bedrock_call_attempts, 12):
        longest = sum(backoff.delay_amount(Context(n)) for n in range(1, attempts))
        assert longest == retry_wait_seconds(attempts)


def test_the_step_timeouts_outlast_the_budgets() -> None:
    assert LIMITS.aws_retry_wait_seconds < LIMITS.store_step_seconds
    assert LIMITS.bedrock_read_timeout_seconds + LIMITS.bedrock_retry_wait_seconds < LIMITS.model_task_seconds
    assert LIMITS.bedrock_retry_wait_seconds < LIMITS.marengo_check_timeout_seconds
    # A text search gives up before API Gateway answers 504 for it.
    assert LIMITS.bedrock_text_call_seconds < LIMITS.api_answer_seconds


# --- after the budget: one BackendUnavailableError naming the call, from every adapter ------------------

_STATE_MACHINE = f"arn:aws:states:{REGION}:123456789012:stateMachine:VideoAnalysisStateMachine"


def _get_video(c: AwsClients) -> object:
    return DynamoDBVideoStore(c.dynamodb(), "milkmobs-videos", cursor_secret="s" * 32).get("vid_1")


def _get_mob(c: AwsClients) -> object:
    return DynamoDBMobStore(c.dynamodb(), "milkmobs-mobs").get("mob_1")


def _get_media(c: AwsClients) -> object:
    return S3MediaStore(c.s3(), "milkmobs-media").get("videos/v.mp4")


def _publish(c: AwsClients) -> object:
    event = VideoAnalyzed(video_id="vid_1", status=VideoStatus.VALIDATED)
    EventBridgeEventBus(c.events(), "milk-mobs-bus").publish([event])
    return None


def _start_execution(c: AwsClients) -> object:
    return StepFunctionsWorkflow(c.stepfunctions(), _STATE_MACHINE).start("vid_1")


def _usage(c: AwsClients) -> object:
    end = datetime.now(UTC)
    return CloudWatchMetrics(c.cloudwatch(), known_models=[("m", ModelType.PEGASUS)]).usage_between(
        end - timedelta(hours=1), end
    )


def _embed_text(c: AwsClients) -> object:
    settings = Settings(aws={"region": REGION, "media_bucket_owner": "123456789012"})
    return build_analyzer(settings, session=c.session).embed_text("milk")


#: name: (client kind, the operation the message names, the adapter call)
ADAPTER_CALLS: dict[str, tuple[str, str, Callable[[AwsClients], object]]] = {
    "videos.get": ("dynamodb", "GetItem", _get_video),
    "mobs.get": ("dynamodb", "GetItem", _get_mob),
    "media.get": ("s3", "GetObject", _get_media),
    "events.publish": ("events", "PutEvents", _publish),
    "workflow.start": ("stepfunctions", "StartExecution", _start_execution),
    "metrics.usage_between": ("cloudwatch", "ListMetrics", _usage),
    "analyzer.embed_text": ("bedrock_runtime_for_text", "InvokeModel", _embed_text),
}


@pytest.mark.parametrize("name", sorted(ADAPTER_CALLS))
def test_an_adapter_raises_one_unavailable_error_naming_the_call_after_the_budget(
    monkeypatch: pytest.MonkeyPatch, clients: AwsClients, waits: list[float], name: str
) -> None:
    kind, operation, call = ADAPTER_CALLS[name]
    created: list[Throttler] = []
    make_client = getattr(AwsClients, kind)

    def throttled_client(self: AwsClients) -> Any:
        client = make_client(self)
        created.append(Throttler(client))
        return client

    monkeypatch.setattr(AwsClients, kind, throttled_client)

    with pytest.raises(BackendUnavailableError) as caught:
        call(clients)

    [throttler] = created
    budget = BUDGETS.get(kind, MAX_ATTEMPTS)
    assert throttler.attempts == budget  # no adapter loop on top of botocore's
    message = caught.value.message
    spent = (f"after {budget} tries", f"after {budget} attempt(s)")  # the common translation's, Bedrock's
    assert operation in message and any(s in message for s in spent) and "throttl" in message.lower(), message
