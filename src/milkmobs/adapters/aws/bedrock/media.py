"""The S3 side of the Bedrock analyzer: where the video is, checking it first, reading job output."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws.bedrock.mp4 import mp4_duration_seconds
from milkmobs.adapters.aws.errors import common_translation, error_code, error_message, transport_error
from milkmobs.domain import Video
from milkmobs.domain.errors import AnalysisError, TransientAnalysisError
from milkmobs.ports import EmbeddingJob

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
_DENIED = frozenset({"403", "AccessDenied", "Forbidden"})


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` → ``("bucket", "some/key")``."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


class BedrockMediaAccess:
    """Checks a video's object before a billed model call and reads asynchronous job output.

    Checking first turns "Bedrock said ValidationException" into messages a person can act
    on: the object is missing, cannot be read, or sits in a bucket of another region.
    """

    def __init__(self, s3: S3Client, *, region: str, media_bucket: str, bucket_owner: str | Callable[[], str]) -> None:
        self._s3 = s3
        self._region = region
        self._bucket = media_bucket
        self._owner_source = bucket_owner
        self._owner: str | None = bucket_owner if isinstance(bucket_owner, str) else None
        self._sizes: dict[str, int] = {}  # object sizes seen by the last checks, for the duration probe
        self._durations: dict[str, float] = {}

    def bucket_owner(self) -> str:
        """The account id owning the media bucket (resolved once, lazily, if given as a callable)."""
        if self._owner is None:
            assert callable(self._owner_source)
            self._owner = self._owner_source()
        return self._owner

    def uri(self, video: Video) -> str:
        return f"s3://{self._bucket}/{video.media_key}"

    def checked_uri(self, video: Video, *, model_id: str) -> str:
        """The video's S3 URI after a HEAD: AnalysisError if missing, unreadable or in another region."""
        uri = self.uri(video)
        checking = f"checking {uri} for video {video.video_id}"
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=video.media_key)
        except ClientError as exc:
            code = error_code(exc)
            if code in _MISSING:
                raise AnalysisError(
                    f"video {video.video_id}: {uri} does not exist, so {model_id} cannot analyse it; "
                    "was the upload completed, or was the video deleted meanwhile?",
                    video_id=video.video_id,
                    model_id=model_id,
                ) from exc
            if code in _DENIED:
                raise AnalysisError(
                    f"video {video.video_id}: {uri} cannot be read ({code}); grant s3:GetObject on the media "
                    "bucket to this role and to Bedrock (without s3:ListBucket, S3 also answers 403 for an "
                    "object that does not exist)",
                    video_id=video.video_id,
                    model_id=model_id,
                ) from exc
            # botocore already retried S3's throttling and faults: what is left is not retried again
            raise common_translation(exc, doing=checking, video_id=video.video_id) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=checking, video_id=video.video_id) from exc
        current = head.get("VersionId")
        if video.media_version and current and current != video.media_version:
            # Bedrock reads the latest version only; a later upload is still being removed by start-analysis.
            raise TransientAnalysisError(
                f"video {video.video_id}: {uri} holds version {current}, not the accepted upload "
                f"{video.media_version}; the later version is being removed, retrying",
                video_id=video.video_id,
                model_id=model_id,
            )
        if len(self._sizes) > 256:
            self._sizes.clear()
        self._sizes[video.media_key] = int(head.get("ContentLength", 0))
        bucket_region = head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
        if bucket_region and bucket_region != self._region:
            raise AnalysisError(
                f"video {video.video_id}: bucket {self._bucket} is in {bucket_region} but {model_id} is called in "
                f"{self._region}; Bedrock only reads videos from buckets in its own region — deploy both in one "
                "region or set MILKMOBS_MODELS__BEDROCK_REGION",
                video_id=video.video_id,
                model_id=model_id,
            )
        return uri

    def video_seconds(self, video: Video) -> float:
        """The billed seconds: the probed duration on the record, else the MP4 header's; 0 if unknown."""
        if video.media is not None:
            return video.media.duration_seconds
        key = video.media_key
        if key not in self._durations:
            if len(self._durations) > 256:
                self._durations.clear()
            self._durations[key] = self._probe_duration(key)
        return self._durations[key]

    def _probe_duration(self, key: str) -> float:
        def read_range(start: int, end: int) -> bytes:
            return self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={start}-{end}")["Body"].read()

        try:
            size = self._sizes.get(key) or int(self._s3.head_object(Bucket=self._bucket, Key=key)["ContentLength"])
            return mp4_duration_seconds(read_range, size) or 0.0
        except (ClientError, BotoCoreError):
            return 0.0  # usage metrics only: the analysis itself does not depend on it

    def read_job_output(self, output_uri: str, job: EmbeddingJob, *, model_id: str) -> bytes:
        """``<output_uri>/<invocationId>/output.json`` (or the one ``*output.json`` under that folder)."""
        bucket, prefix = split_s3_uri(output_uri)
        invocation_id = job.job_id.rsplit("/", 1)[-1]
        folder = f"{prefix.rstrip('/') + '/' if prefix.strip('/') else ''}{invocation_id}/"
        where = f"s3://{bucket}/{folder}output.json"
        reading = f"reading {where} for video {job.video_id}"
        try:
            try:
                return self._s3.get_object(Bucket=bucket, Key=folder + "output.json")["Body"].read()
            except ClientError as exc:
                if error_code(exc) not in _MISSING:
                    raise
            listing = self._s3.list_objects_v2(Bucket=bucket, Prefix=folder)
            keys = [
                o["Key"]
                for o in listing.get("Contents", [])
                if o["Key"].endswith("output.json") and "manifest" not in o["Key"]
            ]
            if not keys:
                raise AnalysisError(
                    f"Marengo job {job.job_id} for video {job.video_id} completed but wrote no output.json under "
                    f"s3://{bucket}/{folder}; check Bedrock's write access to the output prefix",
                    video_id=job.video_id,
                    model_id=model_id,
                )
            return self._s3.get_object(Bucket=bucket, Key=sorted(keys)[0])["Body"].read()
        except ClientError as exc:
            code = error_code(exc)
            if code in _DENIED or code in _MISSING:
                raise AnalysisError(
                    f"reading {where} for video {job.video_id} failed: {code} — {error_message(exc)}",
                    video_id=job.video_id,
                    model_id=model_id,
                ) from exc
            raise common_translation(exc, doing=reading, video_id=job.video_id) from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=reading, video_id=job.video_id) from exc
