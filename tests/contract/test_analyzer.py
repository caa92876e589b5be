"""Analyzer contract: what the pipeline relies on from any describer/embedder.

The video is a real (tiny) MP4 when imageio-ffmpeg is installed, so analyzers that decode
files get something decodable; fakes accept any bytes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from milkmobs.domain import AnalysisError, Campaign, Embedding, Insights, MediaError, ModelType, Video
from tests.contract.support import make_video

VIDEO_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of test pattern with a tone; plain bytes if no ffmpeg is installed."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return b"\x00\x00\x00\x18ftypmp42 not a real video GOT MILK #gotmilk"
    out: Path = tmp_path_factory.mktemp("analyzer") / "sample.mp4"
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-nostdin", "-y", "-loglevel", "error",
        "-f", "lavfi", "-i", "testsrc=size=96x96:rate=10",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050",
        "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return out.read_bytes()


def _video(video_id: str = VIDEO_ID, **changes: Any) -> Video:
    return make_video(video_id, title="Got milk?", hashtags=["gotmilk", "skate"], **changes)


def _unit_of(embedding: Embedding, dimension: int, model_id: str) -> None:
    assert embedding.vector.dtype == np.float32
    assert embedding.dimension == dimension
    assert float(np.linalg.norm(embedding.vector)) == pytest.approx(1.0, abs=1e-4)
    assert embedding.model_id == model_id
    assert np.all(np.isfinite(embedding.vector))


def test_models_and_dimension_are_declared(analyzer: Any) -> None:
    model, _ = analyzer
    assert isinstance(model.insights_model_id, str) and model.insights_model_id
    assert isinstance(model.embedding_model_id, str) and model.embedding_model_id
    assert isinstance(model.embedding_dimension, int) and model.embedding_dimension >= 2


def test_describe_video_returns_insights_and_their_cost(analyzer: Any, sample_mp4: bytes) -> None:
    model, put_video = analyzer
    video = _video()
    put_video(video, sample_mp4)
    out = model.describe_video(video, Campaign())
    assert isinstance(out.value, Insights)
    assert 0.0 <= out.value.participation_score <= 1.0
    assert out.value.audio_available or out.value.product_mentioned is None
    assert out.usage, "every billed call reports its usage"
    for usage in out.usage:
        assert usage.model_id == model.insights_model_id
        assert usage.model_type is ModelType.PEGASUS
        assert usage.invocations >= 1
    assert sum(u.video_seconds for u in out.usage) > 0


def test_embed_video_returns_a_unit_vector_of_the_declared_dimension(analyzer: Any, sample_mp4: bytes) -> None:
    model, put_video = analyzer
    video = _video()
    put_video(video, sample_mp4)
    out = model.embed_video(video)
    _unit_of(out.value, model.embedding_dimension, model.embedding_model_id)
    assert out.usage
    for usage in out.usage:
        assert usage.model_id == model.embedding_model_id
        assert usage.model_type is ModelType.MARENGO
    assert sum(u.video_seconds for u in out.usage) > 0


def test_a_video_without_hashtags_or_title_is_analysed(analyzer: Any, sample_mp4: bytes) -> None:
    model, put_video = analyzer
    video = make_video("fedcba9876543210fedcba9876543210")
    put_video(video, sample_mp4)
    assert isinstance(model.describe_video(video, Campaign()).value, Insights)
    _unit_of(model.embed_video(video).value, model.embedding_dimension, model.embedding_model_id)


def test_embed_text_lives_in_the_same_space(analyzer: Any) -> None:
    model, _ = analyzer
    out = model.embed_text("kids drinking milk on a skateboard #gotmilk")
    _unit_of(out.value, model.embedding_dimension, model.embedding_model_id)
    for usage in out.usage:
        assert usage.model_id == model.embedding_model_id
        assert usage.model_type is ModelType.MARENGO


def test_a_video_with_no_file_is_a_clear_error(analyzer: Any) -> None:
    model, _ = analyzer
    video = _video("00000000000000000000000000000bad")
    with pytest.raises((AnalysisError, MediaError)) as described:
        model.describe_video(video, Campaign())
    assert described.value.video_id in (None, video.video_id)
    assert not getattr(described.value, "retryable", False), "a missing file does not heal by retrying"
    with pytest.raises((AnalysisError, MediaError)):
        model.embed_video(video)
