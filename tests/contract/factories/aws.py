"""AWS adapters on moto (in process), plugged into the port contract suites."""

from __future__ import annotations

import atexit
import json
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import boto3
import pytest
import requests

pytest.importorskip("moto")

from moto import mock_aws
from moto.server import ThreadedMotoServer

from milkmobs.adapters.aws.clients import AwsClients, s3_config
from milkmobs.adapters.aws.cloudwatch import CloudWatchMetrics
from milkmobs.adapters.aws.dynamodb_claims import DynamoDBClaimStore
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore
from milkmobs.adapters.aws.eventbridge import EventBridgeEventBus
from milkmobs.adapters.aws.s3_media import S3MediaStore
from milkmobs.adapters.aws.stepfunctions import StepFunctionsWorkflow
from milkmobs.adapters.aws.tables import create_tables
from milkmobs.domain import VideoAnalyzed
from milkmobs.domain.errors import ForbiddenError, InvalidInputError, PayloadTooLargeError
from milkmobs.ports import UploadTicket
from tests.adapters.aws.moto_support import atomic_dynamodb, aws_app_on_moto
from tests.contract.support import add_uploaded_video

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
    # DynamoDB applies a conditional write atomically; moto needs its item operations serialised for that.
    with _tables() as clients, atomic_dynamodb():
        yield DynamoDBVideoStore(clients.dynamodb(), VIDEOS_TABLE, cursor_secret=CURSOR_SECRET)


@contextmanager
def dynamodb_claim_store() -> Iterator[tuple[DynamoDBClaimStore, DynamoDBVideoStore]]:
    # DynamoDB applies a conditional update atomically; moto needs its item operations serialised for that.
    with _tables() as clients, atomic_dynamodb():
        videos = DynamoDBVideoStore(clients.dynamodb(), VIDEOS_TABLE, cursor_secret=CURSOR_SECRET)
        yield DynamoDBClaimStore(clients.dynamodb(), VIDEOS_TABLE), videos


@contextmanager
def dynamodb_mob_store() -> Iterator[DynamoDBMobStore]:
    with _tables() as clients:
        yield DynamoDBMobStore(clients.dynamodb(), MOBS_TABLE)


_server_lock = threading.Lock()
_server_endpoint: list[str] = []


def _moto_server() -> str:
    """One moto HTTP server for the whole test run, started on first use (uploads need the wire)."""
    with _server_lock:
        if not _server_endpoint:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            atexit.register(server.stop)
            _server_endpoint.append(f"http://127.0.0.1:{port}")
        return _server_endpoint[0]


def _post_form(ticket: UploadTicket, data: bytes) -> None:
    """What a browser does with the ticket: a multipart form POST of the fields plus the file."""
    response = requests.post(
        ticket.url, data=ticket.fields, files={"file": ("upload.mp4", data, "video/mp4")}, timeout=30
    )
    if response.status_code < 300:
        return
    text = response.text
    if "EntityTooLarge" in text or "EntityTooSmall" in text:
        raise PayloadTooLargeError(f"S3 refused the upload size: {text[:200]}")
    if response.status_code == 403:
        raise ForbiddenError(f"S3 refused the upload: {text[:200]}")
    raise InvalidInputError(f"S3 refused the upload ({response.status_code}): {text[:200]}")


@contextmanager
def s3_media_store() -> Iterator[tuple[S3MediaStore, Callable[[UploadTicket, bytes], None]]]:
    client = boto3.client(
        "s3",
        endpoint_url=_moto_server(),
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=s3_config(),
    )
    bucket = f"contract-media-{uuid.uuid4().hex[:12]}"  # a fresh, empty, versioned bucket per test
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    yield S3MediaStore(client, bucket), _post_form


@contextmanager
def eventbridge_bus() -> Iterator[tuple[EventBridgeEventBus, Callable[[], list[VideoAnalyzed]]]]:
    """A custom bus with a rule on the milkmobs source delivering to an SQS queue we read back."""
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        events, sqs = session.client("events"), session.client("sqs")
        events.create_event_bus(Name="contract-bus")
        queue_url = sqs.create_queue(QueueName="contract-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="analysed", EventBusName="contract-bus", EventPattern='{"source": ["milk-mobs.analysis"]}')
        events.put_targets(Rule="analysed", EventBusName="contract-bus", Targets=[{"Id": "q", "Arn": queue_arn}])
        received: list[VideoAnalyzed] = []

        def read_published() -> list[VideoAnalyzed]:
            while True:
                messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
                if not messages:
                    return list(received)
                for message in messages:
                    envelope = json.loads(message["Body"])
                    assert envelope["detail-type"] == VideoAnalyzed.detail_type
                    received.append(VideoAnalyzed.model_validate(envelope["detail"]))
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

        yield EventBridgeEventBus(AwsClients(REGION).events(), "contract-bus"), read_published


@contextmanager
def cloudwatch_metrics() -> Iterator[CloudWatchMetrics]:
    with mock_aws():
        yield CloudWatchMetrics(AwsClients(REGION).cloudwatch())


@contextmanager
def step_functions_workflow() -> Iterator[tuple[StepFunctionsWorkflow, Callable[[], str], Callable[[str], None]]]:
    """The analysis state machine executed by moto, its Lambda tasks running the core in process."""
    with aws_app_on_moto() as env:
        app = env.app
        flow = app.workflow
        assert isinstance(flow, StepFunctionsWorkflow)

        def settle(video_id: str) -> None:
            if any(r.status.value == "RUNNING" for r in flow.history(video_id)):
                env.settle(flow.execution_arn(video_id))

        yield flow, (lambda: add_uploaded_video(app)), settle


VIDEO_STORES = {"DynamoDBVideoStore": dynamodb_video_store}
MOB_STORES = {"DynamoDBMobStore": dynamodb_mob_store}
CLAIM_STORES = {"DynamoDBClaimStore": dynamodb_claim_store}
MEDIA_STORES = {"S3MediaStore": s3_media_store}
EVENT_BUSES = {"EventBridgeEventBus": eventbridge_bus}
METRICS = {"CloudWatchMetrics": cloudwatch_metrics}
WORKFLOWS = {"StepFunctionsWorkflow": step_functions_workflow}
