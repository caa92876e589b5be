"""Shared moto set-ups: DynamoDB atomicity, and the whole AWS-backed app with Step Functions running."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws
from tests.adapters.aws.sfn_harness import (
    MOTO_SFN_CONFIG,
    create_functions,
    lambda_tasks_in_process,
    state_machine_definition,
)

from milkmobs.adapters.aws.clients import shared_session
from milkmobs.adapters.aws.tables import create_tables
from milkmobs.core.service import MilkMobs
from milkmobs.core.workflow import ANALYSIS_WORKFLOW
from milkmobs.domain import EVENT_BUS_NAME
from milkmobs.settings import Backend, Settings

REGION = "us-east-1"
#: The aws backend refuses the development cursor secret.
CURSOR_SECRET = "moto-test-cursor-secret"
_ITEM_OPERATIONS = (
    "get_item", "put_item", "update_item", "delete_item", "query",
    "batch_get_item", "batch_write_item", "transact_write_items", "transact_get_items",
)  # fmt: skip


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """Give moto DynamoDB's per-item atomicity.

    Real DynamoDB evaluates a condition and applies the write atomically; moto's backend checks
    and writes in plain Python with no lock, so two threads can both pass the same condition.
    Serialising moto's item operations restores the service's guarantee, so concurrency tests
    measure the adapters' optimistic loops rather than moto's race.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {name: getattr(DynamoDBBackend, name) for name in _ITEM_OPERATIONS}

    def serialised(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return wrapper

    for name, method in originals.items():
        setattr(DynamoDBBackend, name, serialised(method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(DynamoDBBackend, name, method)


@dataclass
class AwsOnMoto:
    """The app on AWS adapters (moto), its Step Functions state machine running the pipeline."""

    app: MilkMobs
    session: boto3.session.Session
    settings: Settings
    invoked: list[str]

    def settle(self, execution_arn: str, timeout: float = 60.0) -> str:
        from tests.adapters.aws.sfn_harness import wait_until_settled

        return wait_until_settled(
            self.session.client("stepfunctions", region_name=REGION), execution_arn, timeout=timeout
        )


@contextmanager
def aws_app_on_moto(
    *, dimension: int = 64, transient_failure_rate: float = 0.0, **setting_overrides: Any
) -> Iterator[AwsOnMoto]:
    """Tables, bucket, bus, step functions and state machine in moto; the app built by bootstrap.

    Every adapter is the AWS one except the analyzer (the memory FakeAnalyzer reading from S3),
    the vector index (in memory: moto has no OpenSearch data plane) and the media processor (the
    fake one: the fake videos are not decodable).
    """
    from milkmobs.adapters.memory.analyzer import FakeAnalyzer
    from milkmobs.adapters.memory.media_processor import FakeMediaProcessor
    from milkmobs.adapters.memory.vector_index import InMemoryVectorIndex
    from milkmobs.bootstrap import build

    holder: dict[str, MilkMobs] = {}
    with (
        mock_aws(config=MOTO_SFN_CONFIG),
        atomic_dynamodb(),
        lambda_tasks_in_process(lambda: holder["app"]) as invoked,
    ):
        session = shared_session()
        create_tables(
            session.client("dynamodb", region_name=REGION), videos_table="milkmobs-videos", mobs_table="milkmobs-mobs"
        )
        s3 = session.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="milkmobs-media")
        s3.put_bucket_versioning(Bucket="milkmobs-media", VersioningConfiguration={"Status": "Enabled"})
        session.client("events", region_name=REGION).create_event_bus(Name=EVENT_BUS_NAME)
        functions = create_functions(session, ANALYSIS_WORKFLOW.lambda_functions())
        role = session.client("iam", region_name=REGION).create_role(
            RoleName="milkmobs-sfn", AssumeRolePolicyDocument="{}"
        )
        machine = session.client("stepfunctions", region_name=REGION).create_state_machine(
            name="milkmobs-analysis", definition=state_machine_definition(functions), roleArn=role["Role"]["Arn"]
        )
        settings = Settings(
            backend=Backend.AWS,
            aws={"region": REGION, "state_machine_arn": machine["stateMachineArn"], "cursor_secret": CURSOR_SECRET},
            opensearch={"endpoint": "https://opensearch.invalid:443"},  # never contacted: the index is overridden
            # the Bedrock analyzer built first checks this against Marengo (512); the fake replaces it.
            # Small vectors keep moto's JSONPath fast (a 512-float state costs it ~1 s per Pass).
            models={"embedding_dimension": None},
            **setting_overrides,
        )
        app = build(
            settings,
            analyzer=lambda adapters: FakeAnalyzer(
                adapters.media, dimension=dimension, transient_failure_rate=transient_failure_rate
            ),
            index=InMemoryVectorIndex(dimension),
            media_processor=lambda adapters: FakeMediaProcessor(adapters.media),
        )
        holder["app"] = app
        try:
            yield AwsOnMoto(app=app, session=session, settings=settings, invoked=invoked)
        finally:
            app.close()
