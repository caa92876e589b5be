"""The AWS composition (build_adapters) and the shared ClientError translation."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from milkmobs.adapters.aws.clients import MAX_ATTEMPTS, AwsClients, client_config, s3_config
from milkmobs.adapters.aws.cloudwatch import CloudWatchMetrics
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore
from milkmobs.adapters.aws.errors import common_translation, transport_error
from milkmobs.adapters.aws.eventbridge import EventBridgeEventBus
from milkmobs.adapters.aws.factory import build_adapters
from milkmobs.adapters.aws.s3_media import S3MediaStore
from milkmobs.adapters.aws.stepfunctions import StepFunctionsWorkflow
from milkmobs.adapters.deferred import built
from milkmobs.adapters.memory.clock import SystemClock, UuidIdGenerator
from milkmobs.domain import BackendUnavailableError, ConfigurationError, InvalidInputError, NotFoundError
from milkmobs.settings import Backend, Settings

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:milkmobs-analysis"


def _settings(**aws: object) -> Settings:
    return Settings(
        backend=Backend.AWS,
        aws={"cursor_secret": "factory-test-cursor-secret", **aws},
        opensearch={"endpoint": "https://search.example.com:443"},
    )


def test_build_adapters_wires_every_aws_adapter(aws: AwsClients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    adapters = build_adapters(_settings(state_machine_arn=ARN), clock=SystemClock(), ids=UuidIdGenerator())
    assert isinstance(adapters.videos, DynamoDBVideoStore)
    assert isinstance(adapters.mobs, DynamoDBMobStore)
    assert isinstance(adapters.media, S3MediaStore) and adapters.media.uri("k") == "s3://milkmobs-media/k"
    assert isinstance(adapters.events, EventBridgeEventBus)
    assert isinstance(adapters.metrics, CloudWatchMetrics) and not adapters.metrics._emf
    assert isinstance(adapters.workflow, StepFunctionsWorkflow)
    assert adapters.workflow.execution_arn("v1") == ARN.replace(":stateMachine:", ":execution:") + ":v1"
    for close in adapters.closers:
        close()


def test_inside_lambda_metrics_use_emf_and_without_a_state_machine_the_core_orchestrates(
    aws: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "analysis-pegasus")
    adapters = build_adapters(_settings(), clock=SystemClock(), ids=UuidIdGenerator())
    assert isinstance(adapters.metrics, CloudWatchMetrics) and adapters.metrics._emf
    assert built(adapters.workflow) is None  # decided where the workflow is first used


def test_client_config_retries_and_times_out() -> None:
    config = client_config()
    # botocore is the only layer retrying a call's throttling now, so its budget grew from 3 tries
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS} and MAX_ATTEMPTS == 4
    assert (config.connect_timeout, config.read_timeout) == (3, 10)
    assert s3_config().signature_version == "s3v4"


def _error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, BackendUnavailableError),
        ("ProvisionedThroughputExceededException", 400, BackendUnavailableError),
        ("SlowDown", 503, BackendUnavailableError),
        ("InternalServerError", 500, BackendUnavailableError),
        ("AccessDeniedException", 400, ConfigurationError),
        ("ValidationException", 400, InvalidInputError),
    ],
)
def test_shared_codes_map_to_milkmobs_errors(code: str, status: int, expected: type[Exception]) -> None:
    error = common_translation(_error(code, status), doing="reading video v1", video_id="v1")
    assert type(error) is expected
    assert "reading video v1" in error.message and code in error.message and error.video_id == "v1"


def test_module_translations_name_what_to_fix(video_store: DynamoDBVideoStore, aws: AwsClients) -> None:
    missing = DynamoDBVideoStore(aws.dynamodb(), "no-such-table", cursor_secret="12345678")
    with pytest.raises(ConfigurationError, match="MILKMOBS_AWS__VIDEOS_TABLE"):
        missing.get("v1")
    with pytest.raises(NotFoundError, match="v1"):
        video_store.get("v1")
    unreachable = transport_error(EndpointConnectionError(endpoint_url="http://x"), doing="reading video v1")
    assert isinstance(unreachable, BackendUnavailableError) and "could not be reached" in unreachable.message
