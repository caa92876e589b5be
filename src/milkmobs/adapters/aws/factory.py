"""The AWS backend: DynamoDB, S3, OpenSearch, EventBridge, CloudWatch, Step Functions, Bedrock."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.cloudwatch import CloudWatchMetrics
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore
from milkmobs.adapters.aws.eventbridge import EventBridgeEventBus
from milkmobs.adapters.aws.s3_media import S3MediaStore
from milkmobs.adapters.aws.stepfunctions import StepFunctionsWorkflow
from milkmobs.adapters.bundle import AdapterSet
from milkmobs.domain import ModelType
from milkmobs.ports import Clock, IdGenerator, MediaProcessor, MediaStore
from milkmobs.settings import Settings


def running_in_lambda() -> bool:
    """The Lambda runtime sets this variable; EMF metrics only make sense there."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


class LocalCopies:
    """Downloads a media object to a private temp directory so ffmpeg/PyAV can open it as a file.

    Only the most recent object is kept (Lambda's /tmp is small and reused between invocations).
    """

    def __init__(self, media: MediaStore) -> None:
        self._media = media
        self._dir = Path(tempfile.mkdtemp(prefix="milkmobs-media-"))
        self._lock = threading.Lock()

    def path_for(self, key: str) -> Path:
        target = self._dir / key.replace("/", "_")
        with self._lock:
            if not target.exists():
                for old in self._dir.iterdir():
                    old.unlink(missing_ok=True)
                target.write_bytes(self._media.get(key))
        return target

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def _media_processor(media: MediaStore) -> tuple[MediaProcessor | None, LocalCopies | None]:
    """ffmpeg probing and thumbnails when the ``media`` extra is installed, else none (probing skipped)."""
    try:
        from milkmobs.adapters.local.media import FfmpegMediaProcessor
    except ImportError:
        return None, None
    copies = LocalCopies(media)
    return FfmpegMediaProcessor(copies.path_for), copies


def build_adapters(settings: Settings, *, clock: Clock, ids: IdGenerator) -> AdapterSet:
    """Adapters on the AWS resources named in ``settings`` (see docs/data-model.md).

    Clients take their endpoint and credentials from the standard AWS configuration. With
    ``state_machine_arn`` set the pipeline runs in Step Functions; without it, the in-process
    orchestrator runs the same workflow against these adapters (scripts, tests). ``ids`` is
    unused: AWS resources mint no milkmobs ids.
    """
    # Bedrock and OpenSearch live with their own engineer's module; imported only when AWS is chosen
    from milkmobs.adapters.aws.factory_models import build_analyzer, build_vector_index

    clients = AwsClients(settings.aws_region)
    media = S3MediaStore(
        clients.s3(),
        settings.media_bucket,
        cloudfront_domain=settings.cloudfront_domain,
        expected_bucket_owner=settings.media_bucket_owner,
        now=clock.now,
    )
    processor, copies = _media_processor(media)
    workflow = (
        StepFunctionsWorkflow(clients.stepfunctions(), settings.state_machine_arn)
        if settings.state_machine_arn
        else None
    )
    return AdapterSet(
        videos=DynamoDBVideoStore(clients.dynamodb(), settings.videos_table, cursor_secret=settings.cursor_secret),
        mobs=DynamoDBMobStore(clients.dynamodb(), settings.mobs_table),
        media=media,
        analyzer=build_analyzer(settings),
        index=build_vector_index(settings),
        events=EventBridgeEventBus(clients.events(), settings.event_bus_name),
        metrics=CloudWatchMetrics(
            clients.cloudwatch(),
            emf=running_in_lambda(),
            known_models=[
                (settings.pegasus_model_id, ModelType.PEGASUS),
                (settings.marengo_model_id, ModelType.MARENGO),
            ],
            now=clock.now,
        ),
        workflow=workflow,
        media_processor=processor,
        closers=[copies.close] if copies is not None else [],
    )
