"""The AWS backend: DynamoDB, S3, OpenSearch, EventBridge, CloudWatch, Step Functions, Bedrock."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.cloudfront_media import InvalidatingMediaStore
from milkmobs.adapters.aws.cloudwatch import CloudWatchMetrics
from milkmobs.adapters.aws.dynamodb_claims import DynamoDBClaimStore
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore
from milkmobs.adapters.aws.dynamodb_videos import DynamoDBVideoStore
from milkmobs.adapters.aws.eventbridge import EventBridgeEventBus
from milkmobs.adapters.aws.stepfunctions import StepFunctionsWorkflow
from milkmobs.adapters.bundle import AdapterSet
from milkmobs.adapters.deferred import Once, on_first_use
from milkmobs.core.limits import pending_upload_ttl_seconds
from milkmobs.domain import EVENT_BUS_NAME, ConfigurationError, ModelType
from milkmobs.ports import (
    Analyzer,
    Clock,
    IdGenerator,
    MediaProcessor,
    MediaStore,
    Metrics,
    VectorIndex,
    VideoStore,
    Workflow,
)
from milkmobs.settings import DEVELOPMENT_CURSOR_SECRET, Settings, env_name

#: The temp directories of :class:`LocalCopies` (``milkmobs-media-<random>``).
LOCAL_COPIES_PREFIX = "milkmobs-media-"


def running_in_lambda() -> bool:
    """The Lambda runtime sets this variable; EMF metrics only make sense there."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


class LocalCopies:
    """Downloads a media object to a private temp directory so ffmpeg/PyAV can open it as a file.

    Only the most recent object is kept (Lambda's /tmp is small and reused between invocations). The
    directory is made for the first copy and removed by :meth:`close`, or else when the copies are
    dropped or the process exits: an application nobody closes (a Lambda environment, a script, a
    test) must not leave a folder behind per start.
    """

    def __init__(self, media: MediaStore) -> None:
        self._media = media
        self._dir: Path | None = None
        self._removal: weakref.finalize[..., Any] | None = None
        self._lock = threading.Lock()

    def path_for(self, key: str) -> Path:
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix=LOCAL_COPIES_PREFIX))
                self._removal = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
            target = self._dir / key.replace("/", "_")
            if not target.exists():
                for old in self._dir.iterdir():
                    old.unlink(missing_ok=True)
                target.write_bytes(self._media.get(key))
        return target

    def close(self) -> None:
        with self._lock:
            if self._removal is not None:
                self._removal()  # removes the directory, once
            self._dir = self._removal = None


def _media_processor(settings: Settings, media: MediaStore) -> tuple[MediaProcessor | None, LocalCopies | None]:
    """ffmpeg probing and thumbnails where ``media_processing`` is on (the functions given the media
    layer), else none: the other functions never load ffmpeg or copy a video to /tmp."""
    if not settings.aws.media_processing:
        return None, None
    from milkmobs.adapters.aws.factory_media import FfmpegProbeProcessor

    copies = LocalCopies(media)
    return FfmpegProbeProcessor(copies.path_for), copies


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
    """Adapters on the AWS resources named in ``settings`` (see docs/data-model.md), each built on
    first use (``milkmobs.adapters.deferred``).

    A Lambda function runs one use case: it builds — reads the settings of, creates the clients
    of — only the adapters that use case calls, so its environment holds those settings and no
    other (deploy's ``functions.settings_read_by``). Clients take their endpoint and credentials
    from the standard AWS configuration, one client per service. With ``state_machine_arn`` set the
    pipeline runs in Step Functions; without it, the in-process orchestrator runs the same workflow
    against these adapters (scripts, tests). ``ids`` is unused: AWS resources mint no milkmobs ids.
    """
    aws = Once(lambda: AwsClients(settings.aws.region))
    dynamodb = Once(lambda: aws.get().dynamodb())
    cloudfront = Once(lambda: aws.get().cloudfront())

    def distribution() -> tuple[Any, str] | None:
        """Read at a delete: only the functions that delete media are given the distribution."""
        distribution_id = settings.aws.cloudfront_distribution_id
        return (cloudfront.get(), distribution_id) if distribution_id else None

    def media() -> MediaStore:
        return InvalidatingMediaStore(
            # CloudFront serves the media URLs: a function that only links to media never makes it
            on_first_use("S3 client", lambda: aws.get().s3()),
            settings.aws.media_bucket,
            distribution=distribution,
            cloudfront_domain=settings.aws.cloudfront_domain,
            expected_bucket_owner=settings.aws.media_bucket_owner,
            now=clock.now,
        )

    def videos() -> VideoStore:
        return DynamoDBVideoStore(
            # the key of list cursors, read at the first list: a function that never lists never reads it
            dynamodb.get(),
            settings.aws.videos_table,
            cursor_secret=lambda: cursor_secret(settings),
            pending_upload_ttl_seconds=pending_upload_ttl_seconds(settings.uploads.upload_url_expires_seconds),
        )

    def metrics() -> Metrics:
        return CloudWatchMetrics(
            # Inside Lambda, usage is written as EMF log lines: the client is made only to read usage.
            on_first_use("CloudWatch client", lambda: aws.get().cloudwatch()),
            emf=running_in_lambda(),
            known_models=[
                (settings.models.pegasus_model_id, ModelType.PEGASUS),
                (settings.models.marengo_model_id, ModelType.MARENGO),
            ],
            now=clock.now,
        )

    def workflow() -> Workflow | None:
        arn = settings.aws.state_machine_arn
        return StepFunctionsWorkflow(aws.get().stepfunctions(), arn) if arn else None

    stores = on_first_use("S3 media store", media)
    processor, copies = _media_processor(settings, stores)

    # Bedrock and OpenSearch (the backend's heaviest imports) are imported by the functions using them
    def analyzer() -> Analyzer:
        from milkmobs.adapters.aws.factory_models import build_analyzer

        return build_analyzer(settings)

    def index() -> VectorIndex:
        from milkmobs.adapters.aws.factory_models import build_vector_index

        return build_vector_index(settings)

    def dimension() -> int:
        from milkmobs.adapters.aws.factory_models import embedding_dimension

        return embedding_dimension(settings)

    return AdapterSet(
        videos=on_first_use("DynamoDB video store", videos),
        mobs=on_first_use("DynamoDB mob store", lambda: DynamoDBMobStore(dynamodb.get(), settings.aws.mobs_table)),
        media=stores,
        claims=on_first_use(
            "DynamoDB claim store", lambda: DynamoDBClaimStore(dynamodb.get(), settings.aws.videos_table)
        ),
        analyzer=on_first_use("Bedrock analyzer", analyzer, embedding_dimension=dimension),
        index=on_first_use("OpenSearch index", index, dimension=dimension),
        events=on_first_use("EventBridge bus", lambda: EventBridgeEventBus(aws.get().events(), EVENT_BUS_NAME)),
        metrics=on_first_use("CloudWatch metrics", metrics),
        # Step Functions or the in-process orchestrator: decided where the workflow is first used
        workflow=on_first_use("Step Functions workflow", workflow),
        media_processor=processor,
        closers=[copies.close] if copies is not None else [],
    )
