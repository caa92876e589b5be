"""``milkmobs check-aws``: the Bedrock contracts, checked for real right after a deploy.

Uploads a tiny bundled clip (5 s, 360x360, ~20 kB: the shortest and smallest Pegasus accepts) to
the configured media bucket, then calls each model through the library's own Bedrock adapter and
prints one PASS/FAIL line per contract:

- ``pegasus``: InvokeModel with ``responseFormat`` (json_schema) → a message that parses as insights;
- ``marengo-video``: StartAsyncInvoke → GetAsyncInvoke until done → ``output.json`` holds a vector
  of the configured dimension;
- ``marengo-text``: InvokeModel on a text → a vector of the same dimension (same space as videos).

Reads the same ``MILKMOBS_*`` settings as the functions (bucket, region, model ids); needs
credentials that may put and delete ``checks/*`` objects in the bucket and invoke both models.
Costs a few cents of model time (5 s of video per model). Exit status 0 when every contract holds.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

from milkmobs.domain import Campaign, MediaInfo, MilkmobsError, Video, VideoStatus

if TYPE_CHECKING:
    import boto3

    from milkmobs.adapters.aws.bedrock import BedrockTwelveLabsAnalyzer
    from milkmobs.settings import Settings

CLIP = "check_clip.mp4"
CLIP_SECONDS = 5.0
KEY_PREFIX = "checks/"
TEXT = "a person drinking a glass of milk"


@dataclass(frozen=True)
class ContractResult:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name:14} {self.detail}"


def clip_bytes() -> bytes:
    """The bundled clip (package data)."""
    return resources.files("milkmobs").joinpath("data", CLIP).read_bytes()


def _upload_clip(s3: Any, bucket: str) -> Video:
    """Put the clip in the media bucket; the video record Bedrock is pointed at."""
    run = uuid.uuid4().hex[:12]
    key = f"{KEY_PREFIX}milkmobs-check-{run}.mp4"
    data = clip_bytes()
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="video/mp4")
    now = datetime.now(UTC)
    return Video(
        video_id=f"check-{run}",
        user_id="milkmobs-check-aws",
        media_key=key,
        status=VideoStatus.PROCESSING,
        created_at=now,
        updated_at=now,
        media=MediaInfo(duration_seconds=CLIP_SECONDS, width=360, height=360, has_audio=True, size_bytes=len(data)),
    )


def _check(name: str, run: Callable[[], str]) -> ContractResult:
    try:
        return ContractResult(name, True, run())
    except MilkmobsError as exc:
        return ContractResult(name, False, exc.message)
    except Exception as exc:  # an SDK or network failure is a failed contract too, with its reason
        return ContractResult(name, False, f"{type(exc).__name__}: {exc}")


def run_checks(settings: Settings, *, session: boto3.session.Session | None = None) -> list[ContractResult]:
    """Run every contract against the configured account; never raises for a failed contract
    (a ConfigurationError naming the extra when boto3 and the AWS adapters are not installed)."""
    from milkmobs.extras import require_extra

    require_extra("aws", needed_by="milkmobs check-aws")
    import boto3

    from milkmobs.adapters.aws.clients import AwsClients
    from milkmobs.adapters.aws.factory_models import bedrock_region, build_analyzer

    session = session or boto3.session.Session()
    try:
        analyzer: BedrockTwelveLabsAnalyzer = build_analyzer(settings, session=session)
    except MilkmobsError as exc:
        return [ContractResult("configuration", False, exc.message)]
    dimension = analyzer.embedding_dimension
    s3 = AwsClients(bedrock_region(settings), session=session).s3()
    try:
        video = _upload_clip(s3, settings.aws.media_bucket)
    except Exception as exc:
        where = f"s3://{settings.aws.media_bucket}/{KEY_PREFIX}"
        return [ContractResult("upload", False, f"could not put the check clip at {where}: {exc}")]

    def pegasus() -> str:
        insights = analyzer.describe_video(video, Campaign()).value
        return (
            f"{analyzer.insights_model_id}: responseFormat json_schema answered parseable insights "
            f"(participation {insights.participation_score:.2f}, {len(insights.scenes)} scenes)"
        )

    def marengo_video() -> str:
        embedding = analyzer.embed_video(video).value
        if embedding.dimension != dimension:
            raise ValueError(f"{embedding.dimension}-d vector, expected {dimension}")
        return f"{analyzer.embedding_model_id}: async job wrote a {embedding.dimension}-d video embedding"

    def marengo_text() -> str:
        embedding = analyzer.embed_text(TEXT).value
        if embedding.dimension != dimension:
            raise ValueError(f"{embedding.dimension}-d vector, expected {dimension}")
        return f"{analyzer.embedding_model_id}: text embedding of {embedding.dimension} dimensions"

    results = [_check("pegasus", pegasus), _check("marengo-video", marengo_video), _check("marengo-text", marengo_text)]
    try:
        s3.delete_object(Bucket=settings.aws.media_bucket, Key=video.media_key)
    except Exception as exc:  # the contracts were checked; say what is left behind
        where = f"s3://{settings.aws.media_bucket}/{video.media_key}"
        results.append(ContractResult("cleanup", False, f"{where} stays: {exc}"))
    return results


def command(args: argparse.Namespace, settings: Settings, *, out: TextIO | None = None, session: Any = None) -> int:
    """``milkmobs check-aws``: one line per contract; 0 when all pass, 1 otherwise."""
    out = out or sys.stdout
    results = run_checks(settings, session=session)
    for result in results:
        print(result.line(), file=out)
    failed = [r.name for r in results if not r.passed]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed", file=out)
    return 1 if failed else 0


__all__ = ["CLIP", "ContractResult", "clip_bytes", "command", "run_checks"]
