"""The whole pipeline on the model-side AWS adapters: Bedrock (scripted, S3 on moto) and OpenSearch (test double).

Stores stay in memory; media is the real S3 adapter on moto, because Bedrock reads videos from
S3. This checks that the core drives the analyzer's asynchronous Marengo path, records the
billed usage, and that similar-video search returns true cosines through the OpenSearch index.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.adapters.bedrock.bedrock_rig import BUCKET, OWNER, REGION, shared_s3_client, shared_session
from tests.adapters.bedrock.scripted_bedrock import ScriptedBedrock
from tests.opensearch_double import OpenSearchTestDouble

from milkmobs.adapters.aws.bedrock import BedrockAnalyzerConfig, BedrockTwelveLabsAnalyzer
from milkmobs.adapters.aws.factory_models import build_vector_index
from milkmobs.adapters.aws.s3_media import S3MediaStore
from milkmobs.adapters.memory.media_processor import FakeMediaProcessor
from milkmobs.bootstrap import build
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import ModelType, VideoStatus
from milkmobs.settings import Settings

pytest.importorskip("moto")
from moto import mock_aws


def _no_wait(_: float) -> None:
    return None


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, ScriptedBedrock]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws(), OpenSearchTestDouble() as double:
        s3 = shared_s3_client()
        s3.create_bucket(Bucket=BUCKET)
        runtime = shared_session().client("bedrock-runtime")
        scripted = ScriptedBedrock(runtime, s3, polls_before_done=2)
        analyzer = BedrockTwelveLabsAnalyzer(
            runtime,
            s3,
            BedrockAnalyzerConfig(region=REGION, media_bucket=BUCKET),
            bucket_owner=OWNER,
            sleep=_no_wait,
        )
        settings = Settings(opensearch={"endpoint": double.url, "auth": "none", "index_prefix": "e2e-"})
        media = S3MediaStore(s3, BUCKET)
        with build(
            settings,
            wait_scale=0,
            retry_interval_scale=0,
            media=media,
            media_processor=FakeMediaProcessor(media),
            analyzer=analyzer,
            index=build_vector_index(settings),
        ) as application:
            yield application, scripted


def _upload(app: Any, hashtags: list[str]) -> str:
    video_id = app.submit_video(SubmitRequest(user_id="u1", title="milk time", hashtags=hashtags)).video_id
    # each video its own file: a user's second upload of the same bytes is refused as a duplicate
    app.upload_video(video_id, b"\x00\x00\x00\x18ftypmp42" + bytes(400_000) + video_id.encode())
    return str(video_id)


def test_uploads_are_analysed_indexed_and_searchable_by_cosine(harness: tuple[Any, ScriptedBedrock]) -> None:
    app, scripted = harness
    first = _upload(app, ["gotmilk"])
    second = _upload(app, ["milkmob"])

    video = app.get_video(first)
    assert video.status is VideoStatus.VALIDATED, video
    assert video.insights.model_id == "twelvelabs.pegasus-1-2-v1:0"
    assert video.insights.on_screen_text == ["GOT MILK?", "#milkmob"]

    similar = app.similar_videos(first, limit=5)
    assert [r.video.video_id for r in similar.results] == [second]
    # both jobs returned the same fixture vector: the converted OpenSearch score is the cosine, 1.0
    assert similar.results[0].score == pytest.approx(1.0, abs=1e-4)

    # the asynchronous path: one start per video, then polls until the job completes (third poll)
    assert scripted.calls.count("StartAsyncInvoke") == 2
    assert scripted.calls.count("GetAsyncInvoke") == 6
    assert scripted.calls.count("InvokeModel") == 2  # Pegasus, once per video

    report = app.usage("24h")
    by_type = {m.model_type: m for m in report.models}
    assert by_type[ModelType.PEGASUS].invocations == 2
    assert by_type[ModelType.PEGASUS].input_tokens == 3000
    assert by_type[ModelType.MARENGO].invocations == 2
    assert by_type[ModelType.MARENGO].video_seconds > 0
