"""What the AWS composition builds inside a Lambda: only the adapters a function uses, the media
processor only where declared (probing with the ffmpeg binary alone), the cursor key from
Secrets Manager."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from tests.media_support import make_mp4

from milkmobs.adapters.aws import factory
from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.factory import build_adapters
from milkmobs.adapters.aws.factory_media import FfmpegProbeProcessor, probe_with_ffmpeg
from milkmobs.adapters.local.media import probe_file
from milkmobs.adapters.memory.clock import SystemClock, UuidIdGenerator
from milkmobs.domain import ConfigurationError, MediaError
from milkmobs.settings import Backend, Settings


@pytest.mark.parametrize(
    "clip", [{}, {"audio": False}, {"seconds": 5.0, "size": "320x180"}, {"faststart": False}], ids=str
)
def test_the_ffmpeg_probe_reads_what_the_pyav_probe_reads(tmp_path: Path, clip: dict[str, object]) -> None:
    path = make_mp4(tmp_path / "clip.mp4", **clip)  # type: ignore[arg-type]
    assert probe_with_ffmpeg(path, label="video v1") == probe_file(path, label="video v1")


def test_the_ffmpeg_probe_refuses_broken_files_by_name(tmp_path: Path) -> None:
    whole = make_mp4(tmp_path / "whole.mp4", seconds=6.0).read_bytes()
    (tmp_path / "half.mp4").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "text.mp4").write_bytes(b"GOT MILK " * 50)
    (tmp_path / "empty.mp4").write_bytes(b"")
    cases = {"half.mp4": "truncated", "text.mp4": "not a decodable video", "empty.mp4": "empty",
             "missing.mp4": "missing"}  # fmt: skip
    for name, reason in cases.items():
        with pytest.raises(MediaError, match=rf"video v7: .*{reason}"):
            probe_with_ffmpeg(tmp_path / name, label="video v7")


def _settings(**aws: object) -> Settings:
    return Settings(backend=Backend.AWS, aws={"cursor_secret": "factory-test-cursor-secret", **aws})


def test_no_media_processor_unless_the_function_declares_media(aws: AwsClients) -> None:
    adapters = build_adapters(_settings(media_processing=False), clock=SystemClock(), ids=UuidIdGenerator())
    assert adapters.media_processor is None and adapters.closers == []
    adapters = build_adapters(_settings(media_processing=True), clock=SystemClock(), ids=UuidIdGenerator())
    assert isinstance(adapters.media_processor, FfmpegProbeProcessor)
    for close in adapters.closers:
        close()


def test_the_index_and_analyzer_are_built_on_first_use(aws: AwsClients) -> None:
    """A function without search settings builds fine; using the index names the missing setting."""
    adapters = build_adapters(_settings(media_processing=False), clock=SystemClock(), ids=UuidIdGenerator())
    assert adapters.index.dimension == adapters.analyzer.embedding_dimension == 512  # known without building
    with pytest.raises(ConfigurationError, match="MILKMOBS_OPENSEARCH__ENDPOINT"):
        adapters.index.count()


def test_the_cursor_key_comes_from_secrets_manager_once(aws: AwsClients, monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(Name="cursor-key", SecretString="k" * 48)["ARN"]
    monkeypatch.setattr(factory, "_secret_cache", {})
    settings = _settings(cursor_secret_id=arn, media_processing=False)
    assert factory.cursor_secret(settings) == "k" * 48
    client.put_secret_value(SecretId=arn, SecretString="changed-later")
    assert factory.cursor_secret(settings) == "k" * 48  # read at cold start, then cached
    short = client.create_secret(Name="short", SecretString="abc")["ARN"]
    with pytest.raises(ConfigurationError, match="short"):
        factory.cursor_secret(_settings(cursor_secret_id=short))


def test_the_aws_backend_refuses_the_development_cursor_secret(aws: AwsClients) -> None:
    development = Settings(backend=Backend.AWS, aws={"media_processing": False})
    with pytest.raises(ConfigurationError, match=r"MILKMOBS_AWS__CURSOR_SECRET_ID.*MILKMOBS_AWS__CURSOR_SECRET "):
        factory.cursor_secret(development)
    # only a function that lists videos needs the key: the others build (and run) without one
    adapters = build_adapters(development, clock=SystemClock(), ids=UuidIdGenerator())
    with pytest.raises(ConfigurationError, match="development default"):
        adapters.videos.list_by_user("u1", limit=5, cursor="a.b")
    assert factory.cursor_secret(_settings()) == "factory-test-cursor-secret"


def test_a_deleted_media_object_leaves_cloudfronts_edges(aws: AwsClients) -> None:
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "t",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "m",
                        "DomainName": "milkmobs-media.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {"TargetOriginId": "m", "ViewerProtocolPolicy": "https-only"},
        }
    )["Distribution"]["Id"]
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="milkmobs-media")
    settings = _settings(media_processing=False, cloudfront_distribution_id=distribution)
    adapters = build_adapters(settings, clock=SystemClock(), ids=UuidIdGenerator())
    adapters.media.put("vid_abc.mp4", b"x")
    adapters.media.delete("vid_abc.mp4")
    assert not adapters.media.exists("vid_abc.mp4")
    (invalidation,) = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    paths = cloudfront.get_invalidation(DistributionId=distribution, Id=invalidation["Id"])
    assert paths["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/vid_abc.mp4"]
