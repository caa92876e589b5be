"""The Bedrock TwelveLabs analyzer in the Analyzer contract suite.

A real ``bedrock-runtime`` client answered by ``ScriptedBedrock`` (botocore's own stubbing
hooks, documented response shapes; no network) and S3 on moto, where ``put_video`` stores the
file and the scripted Marengo job writes its ``output.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

pytest.importorskip("moto")

from moto import mock_aws

from milkmobs.adapters.aws.bedrock import BedrockAnalyzerConfig, BedrockTwelveLabsAnalyzer
from milkmobs.domain import Video
from milkmobs.ports import Analyzer
from tests.adapters.bedrock.bedrock_rig import BUCKET, OWNER, REGION, shared_s3_client, shared_session
from tests.adapters.bedrock.scripted_bedrock import ScriptedBedrock

AnalyzerHarness = tuple[Analyzer, Callable[[Video, bytes], None]]


def _no_wait(_: float) -> None:
    return None


def _bedrock(marengo_model_id: str) -> Callable[[], AbstractContextManager[AnalyzerHarness]]:
    @contextmanager
    def factory() -> Iterator[AnalyzerHarness]:
        with mock_aws():
            s3 = shared_s3_client()
            s3.create_bucket(Bucket=BUCKET)
            runtime = shared_session().client("bedrock-runtime")
            ScriptedBedrock(runtime, s3)
            analyzer = BedrockTwelveLabsAnalyzer(
                runtime,
                s3,
                BedrockAnalyzerConfig(region=REGION, media_bucket=BUCKET, marengo_model_id=marengo_model_id),
                bucket_owner=OWNER,
                sleep=_no_wait,
            )

            def put_video(video: Video, data: bytes) -> None:
                s3.put_object(Bucket=BUCKET, Key=video.media_key, Body=data, ContentType="video/mp4")

            yield analyzer, put_video

    return factory


ANALYZERS = {
    "BedrockTwelveLabsAnalyzer[marengo-3.0]": _bedrock("twelvelabs.marengo-embed-3-0-v1:0"),
    "BedrockTwelveLabsAnalyzer[marengo-2.7]": _bedrock("twelvelabs.marengo-embed-2-7-v1:0"),
}
