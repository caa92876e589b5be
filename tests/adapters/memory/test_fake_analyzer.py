"""The FAKE analyzer: deterministic, derived from metadata and bytes, clusters by hashtags."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from milkmobs.adapters.memory import FakeAnalyzer, FixedClock, InMemoryMediaStore
from milkmobs.domain import AnalysisError, Campaign, MediaInfo, ModelType, TransientAnalysisError, Video
from milkmobs.domain.errors import InvalidInputError

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _video(video_id: str, *, hashtags: list[str] | None = None, title: str = "", **changes: Any) -> Video:
    return Video(
        video_id=video_id,
        user_id="u",
        title=title,
        hashtags=hashtags or [],
        media_key=f"vid_{video_id}.mp4",
        created_at=T0,
        updated_at=T0,
        **changes,
    )


def _setup(**options: Any) -> tuple[FakeAnalyzer, InMemoryMediaStore]:
    media = InMemoryMediaStore(base_url="http://x", clock=FixedClock())
    return FakeAnalyzer(media, **options), media


def _put(media: InMemoryMediaStore, video: Video, data: bytes) -> Video:
    media.put(video.media_key, data)
    return video


def test_same_inputs_give_identical_outputs_across_instances() -> None:
    outputs = []
    for _ in range(2):
        analyzer, media = _setup(dimension=64, seed=3)
        video = _put(media, _video("a", hashtags=["gotmilk", "skate"]), b"GOT MILK bytes")
        outputs.append((analyzer.describe_video(video, Campaign()), analyzer.embed_video(video)))
    (insights_a, embedding_a), (insights_b, embedding_b) = outputs
    assert insights_a == insights_b
    assert embedding_a.value.vector.tobytes() == embedding_b.value.vector.tobytes()


def test_videos_sharing_hashtags_cluster_and_others_do_not() -> None:
    analyzer, media = _setup()
    skate = [_put(media, _video(f"s{i}", hashtags=["gotmilk", "skate"]), f"skate clip {i}".encode()) for i in range(3)]
    cook = [
        _put(media, _video(f"c{i}", hashtags=["gotmilk", "cooking"]), f"kitchen clip {i}".encode()) for i in range(3)
    ]
    vectors = {v.video_id: analyzer.embed_video(v).value.vector for v in skate + cook}
    same = [float(vectors["s0"] @ vectors[f"s{i}"]) for i in (1, 2)] + [float(vectors["c0"] @ vectors["c1"])]
    assert min(same) > 0.8  # above the default join threshold 0.75
    assert float(vectors["s0"] @ vectors["c0"]) < 0.7  # one shared tag of two
    other = _put(media, _video("o", hashtags=["gardening"]), b"garden")
    assert abs(float(vectors["s0"] @ analyzer.embed_video(other).value.vector)) < 0.3


def test_the_bytes_move_the_embedding_a_little() -> None:
    analyzer, media = _setup()
    a = _put(media, _video("a", hashtags=["skate"]), b"one file")
    vector_a = analyzer.embed_video(a).value.vector
    media.put(a.media_key, b"another file")
    vector_b = analyzer.embed_video(a).value.vector
    assert not np.array_equal(vector_a, vector_b)
    assert float(vector_a @ vector_b) > 0.8


def test_without_hashtags_the_title_sets_the_theme() -> None:
    analyzer, media = _setup()
    a = _put(media, _video("a", title="Skate park"), b"x")
    b = _put(media, _video("b", title="skate PARK!"), b"y")
    assert float(analyzer.embed_video(a).value.vector @ analyzer.embed_video(b).value.vector) > 0.8


def test_text_search_for_a_hashtag_finds_its_videos() -> None:
    analyzer, media = _setup()
    skate = _put(media, _video("s", hashtags=["skate"]), b"s")
    cook = _put(media, _video("c", hashtags=["cooking"]), b"c")
    query = analyzer.embed_text("#skate").value.vector
    assert float(query @ analyzer.embed_video(skate).value.vector) > 0.8
    assert float(query @ analyzer.embed_video(cook).value.vector) < 0.3
    with pytest.raises(InvalidInputError):
        analyzer.embed_text("  ?! ")


def test_insights_come_from_metadata_and_bytes() -> None:
    analyzer, media = _setup()
    campaign = Campaign()
    full = _put(
        media,
        _video("full", hashtags=["gotmilk"], title="drinking milk", description="I love milk"),
        b"...GOT MILK... #milkmob",
    )
    insights = analyzer.describe_video(full, campaign).value
    assert insights.product_shown and insights.action_aligned and insights.product_mentioned
    assert "got milk" in insights.on_screen_text and "#milkmob" in insights.on_screen_text
    assert insights.participation_score == 1.0
    assert "FAKE" in insights.rationale

    plain = _put(media, _video("plain", hashtags=["cats"], title="my cat"), b"just a cat")
    insights = analyzer.describe_video(plain, campaign).value
    assert not insights.product_shown and not insights.action_aligned and insights.on_screen_text == []
    assert insights.participation_score == 0.0
    assert insights.scenes == ["cats"]


def test_the_no_audio_marker_means_audio_unavailable() -> None:
    analyzer, media = _setup()
    video = _put(media, _video("a", description="milk"), b"no-audio milk")
    insights = analyzer.describe_video(video, Campaign()).value
    assert insights.audio_available is False and insights.product_mentioned is None
    assert insights.detected_text == []


def test_usage_is_billed_per_second_of_video() -> None:
    analyzer, media = _setup(insights_model_id="p", embedding_model_id="m", bytes_per_second=100)
    video = _put(media, _video("a"), b"x" * 1000)
    (describe,) = analyzer.describe_video(video, Campaign()).usage
    assert (describe.model_id, describe.model_type, describe.video_seconds) == ("p", ModelType.PEGASUS, 10.0)
    assert describe.input_tokens > 0 and describe.output_tokens > 0
    (embed,) = analyzer.embed_video(video).usage
    assert (embed.model_id, embed.model_type, embed.video_seconds) == ("m", ModelType.MARENGO, 10.0)
    probed = video.model_copy(update={"media": MediaInfo(duration_seconds=4.5)})
    assert analyzer.embed_video(probed).usage[0].video_seconds == 4.5  # a probe's duration wins


def test_transient_failures_hit_the_configured_fraction_once_per_call_kind() -> None:
    analyzer, media = _setup(dimension=8, transient_failure_rate=0.3, seed=1)
    ids = [f"{i:032x}" for i in range(400)]
    chosen = [vid for vid in ids if analyzer.fails_first_call(vid)]
    assert 0.22 < len(chosen) / len(ids) < 0.38
    video = _put(media, _video(chosen[0]), b"bytes")
    for call in (lambda: analyzer.describe_video(video, Campaign()), lambda: analyzer.embed_video(video)):
        with pytest.raises(TransientAnalysisError) as info:
            call()
        assert info.value.retryable and info.value.video_id == chosen[0]
        call()  # the retry succeeds
        call()
    lucky = _put(media, _video(next(v for v in ids if v not in chosen)), b"bytes")
    analyzer.describe_video(lucky, Campaign())
    other_seed, _ = _setup(dimension=8, transient_failure_rate=0.3, seed=2)
    assert [vid for vid in ids if other_seed.fails_first_call(vid)] != chosen


def test_no_failures_by_default_and_every_video_fails_at_rate_one() -> None:
    never, _ = _setup()
    always, _ = _setup(transient_failure_rate=1.0)
    assert not any(never.fails_first_call(f"{i}") for i in range(100))
    assert all(always.fails_first_call(f"{i}") for i in range(100))


def test_missing_or_empty_files_are_analysis_errors() -> None:
    analyzer, media = _setup()
    video = _video("gone")
    with pytest.raises(AnalysisError, match="gone"):
        analyzer.describe_video(video, Campaign())
    media.put(video.media_key, b"")
    with pytest.raises(AnalysisError, match="empty"):
        analyzer.embed_video(video)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        _setup(dimension=1)
    with pytest.raises(InvalidInputError):
        _setup(transient_failure_rate=1.5)
