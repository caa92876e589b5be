"""The AWS backend: DynamoDB, S3, OpenSearch, EventBridge, CloudWatch, Step Functions, Bedrock."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.cloudwatch import CloudWatchMetrics
from milkmobs.adapters.aws.dynamodb_claims import DynamoDBClaimStore
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore
from milkmobs.adapters.aws.eventbridge import EventBridgeEventBus
from milkmobs.adapters.aws.s3_media import S3MediaStore
from milkmobs.adapters.aws.stepfunctions import StepFunctionsWorkflow
from milkmobs.adapters.bundle import AdapterSet
from milkmobs.core.limits import pending_upload_ttl_seconds
from milkmobs.domain import EVENT_BUS_NAME, ConfigurationError, ModelType
from milkmobs.ports import Analyzer, Clock, IdGenerator, MediaProcessor, MediaStore, VectorIndex
from milkmobs.settings import DEVELOPMENT_CURSOR_SECRET, Settings, env_name


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


def _media_processor(settings: Settings, media: MediaStore) -> tuple[MediaProcessor | None, LocalCopies | None]:
    """ffmpeg probing and thumbnails where ``media_processing`` is on (the functions given the media
    layer), else none: the other functions never load ffmpeg or copy a video to /tmp."""
    if not settings.aws.media_processing:
        return None, None
    from milkmobs.adapters.aws.factory_media import FfmpegProbeProcessor

    copies = LocalCopies(media)
    return FfmpegProbeProcessor(copies.path_for), copies


class _Deferred:
    """Stands in for an adapter and builds it on first use.

    A function that never searches never builds the OpenSearch client (nor needs its settings or
    grants); ``known`` answers what the composition root reads at build time (dimensions).
    """

    def __init__(self, what: str, build: Callable[[], object], **known: object) -> None:
        self._what = what
        self._build = build
        self._known = known
        self._target: object | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name in self._known:
            return self._known[name]
        if self._target is None:
            with self._lock:
                if self._target is None:
                    self._target = self._build()
        return getattr(self._target, name)

    def __repr__(self) -> str:
        return f"<{self._what}, built on first use>"


_secret_cache: dict[str, str] = {}


def cursor_secret(settings: Settings) -> str:
    """The cursor key: from Secrets Manager when ``cursor_secret_id`` is set (read once per process).

    The development default signs nothing in AWS: anyone who read the source could forge cursors.
    """
    secret_id = settings.aws.cursor_secret_id
    if secret_id is None:
        if settings.aws.cursor_secret == DEVELOPMENT_CURSOR_SECRET:
            raise ConfigurationError(
                f"the aws backend needs a cursor secret, not the development default: set "
                f"{env_name('aws.cursor_secret_id')} to the Secrets Manager id of one (the stack does), or "
                f"{env_name('aws.cursor_secret')} to a secret of at least 8 characters"
            )
        return settings.aws.cursor_secret
    if secret_id not in _secret_cache:
        client: Any = AwsClients(settings.aws.region).secretsmanager()
        value = client.get_secret_value(SecretId=secret_id).get("SecretString")
        if not value or len(value) < 8:
            raise ConfigurationError(f"the cursor secret {secret_id} is empty or shorter than 8 characters")
        _secret_cache[secret_id] = value
    return _secret_cache[secret_id]


def build_adapters(settings: Settings, *, clock: Clock, ids: IdGenerator) -> AdapterSet:
    """Adapters on the AWS resources named in ``settings`` (see docs/data-model.md).

    Clients take their endpoint and credentials from the standard AWS configuration. With
    ``state_machine_arn`` set the pipeline runs in Step Functions; without it, the in-process
    orchestrator runs the same workflow against these adapters (scripts, tests). ``ids`` is
    unused: AWS resources mint no milkmobs ids.
    """
    # Bedrock and OpenSearch live with their own engineer's module; imported only when AWS is chosen
    from milkmobs.adapters.aws.factory_models import build_analyzer, build_vector_index, embedding_dimension

    clients = AwsClients(settings.aws.region)
    media: MediaStore = S3MediaStore(
        clients.s3(),
        settings.aws.media_bucket,
        cloudfront_domain=settings.aws.cloudfront_domain,
        expected_bucket_owner=settings.aws.media_bucket_owner,
        now=clock.now,
    )
    if settings.aws.cloudfront_distribution_id:
        from milkmobs.adapters.aws.factory_media import InvalidatingMediaStore

        distribution = settings.aws.cloudfront_distribution_id
        media = cast(MediaStore, InvalidatingMediaStore(media, clients.cloudfront(), distribution))
    processor, copies = _media_processor(settings, media)
    dimension = embedding_dimension(settings)
    workflow = (
        StepFunctionsWorkflow(clients.stepfunctions(), settings.aws.state_machine_arn)
        if settings.aws.state_machine_arn
        else None
    )
    # The key is read at cold start where the function is given its id (those that list videos); elsewhere
    # only if a list is ever asked for, which refuses the development default.
    key: str | Callable[[], str] = (
        cursor_secret(settings) if settings.aws.cursor_secret_id else (lambda: cursor_secret(settings))
    )
    return AdapterSet(
        videos=DynamoDBVideoStore(
            clients.dynamodb(), settings.aws.videos_table, cursor_secret=key,
            pending_upload_ttl_seconds=pending_upload_ttl_seconds(settings.uploads.upload_url_expires_seconds),
        ),
        mobs=DynamoDBMobStore(clients.dynamodb(), settings.aws.mobs_table),
        media=media,
        claims=DynamoDBClaimStore(clients.dynamodb(), settings.aws.videos_table),
        analyzer=cast(Analyzer, _Deferred("Bedrock analyzer", lambda: build_analyzer(settings),
                                          embedding_dimension=dimension)),
        index=cast(VectorIndex, _Deferred("OpenSearch index", lambda: build_vector_index(settings),
                                          dimension=dimension)),
        events=EventBridgeEventBus(clients.events(), EVENT_BUS_NAME),
        metrics=CloudWatchMetrics(
            clients.cloudwatch(),
            emf=running_in_lambda(),
            known_models=[
                (settings.models.pegasus_model_id, ModelType.PEGASUS),
                (settings.models.marengo_model_id, ModelType.MARENGO),
            ],
            now=clock.now,
        ),
        workflow=workflow,
        media_processor=processor,
        closers=[copies.close] if copies is not None else [],
    )
