"""End to end on the memory backend: many uploads through the whole pipeline, and the notebook."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.property.test_mobs_props import assert_consistent
from tests.unit.core_support import CAMPAIGN_BYTES, OFF_TOPIC_BYTES, all_videos, make_app, submit

from milkmobs.adapters.memory import FakeAnalyzer
from milkmobs.domain import AnalysisError, ExecutionStatus, ModelType, VideoStatus

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebook.md"
THEMES = ["skate", "beach", "kitchen", "gym", "cats"]


class CorruptFileAnalyzer:
    """The fake analyzer, except that files titled 'corrupt' cannot be read (a permanent error)."""

    def __init__(self, inner: FakeAnalyzer) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def describe_video(self, video: Any, campaign: Any) -> Any:
        if video.title == "corrupt":
            raise AnalysisError(
                f"video {video.video_id}: {self.inner.insights_model_id} cannot decode the file",
                video_id=video.video_id,
                model_id=self.inner.insights_model_id,
            )
        return self.inner.describe_video(video, campaign)


def test_fifty_videos_with_throttling_all_settle() -> None:
    def analyzer(adapters: Any) -> CorruptFileAnalyzer:
        return CorruptFileAnalyzer(
            FakeAnalyzer(adapters.media, dimension=adapters.index.dimension, transient_failure_rate=0.3, seed=7)
        )

    app = make_app(background=True, settings={"local": {"workers": 4}}, analyzer=analyzer)
    try:
        ids = []
        for i in range(50):
            theme = THEMES[i % len(THEMES)]
            title = "corrupt" if i in (5, 23, 41) else f"clip {i}"
            off_topic = i % 4 == 3  # no campaign in the file nor in the hashtags: rejected
            hashtags = [theme] if off_topic else ["gotmilk", theme]
            video_id = submit(app, user=f"user{i % 7}", title=title, hashtags=hashtags)
            data = (OFF_TOPIC_BYTES if off_topic else CAMPAIGN_BYTES) + theme.encode() + bytes([i])
            app.upload_video(video_id, data)
            ids.append(video_id)
        assert app.workflow.wait_idle(timeout=60), "the pipeline did not settle"

        videos = {v.video_id: v for v in all_videos(app) if v.video_id in ids}
        statuses = {v.status for v in videos.values()}
        assert statuses <= {VideoStatus.VALIDATED, VideoStatus.REJECTED, VideoStatus.FAILED}
        failed = [v for v in videos.values() if v.status is VideoStatus.FAILED]
        assert sorted(v.title for v in failed) == ["corrupt"] * 3
        for video in failed:
            assert video.failure is not None and video.failure.step == "PegasusAnalysis"
            assert "cannot decode" in video.failure.error and video.failure.error_type == "AnalysisError"
        assert VideoStatus.VALIDATED in statuses and VideoStatus.REJECTED in statuses

        fake: FakeAnalyzer = app.ports.analyzer.inner  # type: ignore[attr-defined]
        throttled = [i for i in ids if fake.fails_first_call(i)]
        assert 5 <= len(throttled) <= 25  # about 30 % of first calls were refused...
        for video_id in ids:
            [execution] = app.execution_history(video_id)
            expected = (
                ExecutionStatus.FAILED if videos[video_id].status is VideoStatus.FAILED else ExecutionStatus.SUCCEEDED
            )
            assert execution.status is expected
            attempts = {s.name: s.attempts for s in execution.steps}
            if video_id in throttled and videos[video_id].title != "corrupt":
                assert attempts["PegasusAnalysis"] == 2 and attempts["StartEmbedding"] == 2  # ...and retried

        events = app.ports.events.published  # type: ignore[attr-defined]
        settled = [i for i in ids if videos[i].status is not VideoStatus.FAILED]
        assert sorted(e.video_id for e in events) == sorted(settled)  # one event each, none for failures
        assert all(e.status is videos[e.video_id].status for e in events)
        assert_consistent(app)
        usage = {u.model_type: u for u in app.usage("1h").models}
        assert usage[ModelType.PEGASUS].invocations == 47 and usage[ModelType.MARENGO].invocations == 50
        stats = app.stats()
        assert stats.total_videos == 50 and stats.by_status["failed"] == 3
        assert stats.by_status["validated"] + stats.by_status["rejected"] == 47
    finally:
        app.close()


def test_the_notebook_example_runs_as_documented() -> None:
    code = re.search(r"```python\n(.*?)```", NOTEBOOK.read_text(), re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(NOTEBOOK), "exec"), namespace)  # the doc's lines, verbatim
    assert [v.status for v in namespace["feed"]] == [VideoStatus.VALIDATED] * 2
    assert {m.name for m in namespace["mobs"]} == {"#skate", "#beach"}
    assert namespace["similar"] and namespace["found"][0].video.title == "Milk skate"
    assert namespace["history"][0].status is ExecutionStatus.SUCCEEDED
    assert namespace["stats"].total_videos == 2 and namespace["usage"].models
    assert namespace["usage"].total_estimated_cost_usd is None  # the fake analyzer is not a priced Bedrock model
    assert namespace["report"].videos == 2
