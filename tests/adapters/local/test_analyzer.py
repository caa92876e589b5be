"""LocalAnalyzer on generated clips: embedding geometry, dimension, determinism, the per-file cache."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")
pytest.importorskip("rapidocr")

from milkmobs.adapters.local import analyzer as analyzer_module
from milkmobs.adapters.local import descriptors as desc
from milkmobs.adapters.local.analyzer import EMBEDDING_MODEL_ID, INSIGHTS_MODEL_ID, LocalAnalyzer
from milkmobs.demo.corpus import THEMES, CorpusVideo, generate_corpus
from milkmobs.domain import AnalysisError, Campaign, InvalidInputError, ModelType, Video

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[CorpusVideo]:
    """Two themes (sunset, night) × four clips of 2 s."""
    return generate_corpus(tmp_path_factory.mktemp("clips"), themes=THEMES[:2], seconds=2.0)


def as_video(clip: CorpusVideo) -> Video:
    return Video(
        video_id=clip.path.stem, user_id="u", title=clip.title, description=clip.description,
        hashtags=clip.hashtags, media_key=clip.path.name, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def new_analyzer(corpus: list[CorpusVideo], **options: object) -> LocalAnalyzer:
    folder = corpus[0].path.parent
    return LocalAnalyzer(lambda key: folder / key, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def model(corpus: list[CorpusVideo]) -> LocalAnalyzer:
    """One analyzer for the module: its per-file cache spares re-decoding in later tests."""
    return new_analyzer(corpus)


@pytest.fixture(scope="module")
def embeddings(corpus: list[CorpusVideo], model: LocalAnalyzer) -> dict[str, np.ndarray]:
    return {clip.path.stem: model.embed_video(as_video(clip)).value.vector for clip in corpus}


def test_embedding_is_unit_length_with_the_declared_dimension_and_usage(
    corpus: list[CorpusVideo], model: LocalAnalyzer
) -> None:
    out = model.embed_video(as_video(corpus[0]))
    assert model.embedding_dimension == 256 and out.value.dimension == 256
    assert float(np.linalg.norm(out.value.vector)) == pytest.approx(1.0, abs=1e-5)
    assert out.value.model_id == EMBEDDING_MODEL_ID == model.embedding_model_id
    [usage] = out.usage
    assert usage.model_type is ModelType.MARENGO and usage.video_seconds == pytest.approx(2.0, abs=0.1)


def test_same_theme_is_closer_than_another_theme(corpus: list[CorpusVideo], embeddings: dict[str, np.ndarray]) -> None:
    entries = [c for c in corpus if c.campaign_entry]
    same, other = [], []
    for i, a in enumerate(entries):
        for b in entries[i + 1 :]:
            cosine = float(embeddings[a.path.stem] @ embeddings[b.path.stem])
            (same if a.theme == b.theme else other).append(cosine)
    assert min(same) > max(other) + 0.1, (same, other)
    assert min(same) >= 0.6 and max(other) < 0.75


def test_embeddings_are_deterministic_across_instances(
    corpus: list[CorpusVideo], embeddings: dict[str, np.ndarray]
) -> None:
    again = new_analyzer(corpus).embed_video(as_video(corpus[1])).value.vector
    np.testing.assert_array_equal(again, embeddings[corpus[1].path.stem])


def test_the_projection_keeps_cosines_exactly_from_the_raw_size_up() -> None:
    rng = np.random.default_rng(3)
    raw = rng.standard_normal((20, desc.RAW_DIM))
    raw_cos = _cosines(raw)
    for dimension in (desc.RAW_DIM, 256, 512):
        np.testing.assert_allclose(_cosines(np.array([desc.project(r, dimension) for r in raw])), raw_cos, atol=1e-5)
    small = _cosines(np.array([desc.project(r, 64) for r in raw]))
    assert np.abs(small - raw_cos).mean() < 0.2  # below it: a random orthogonal projection, approximate


def _cosines(m: np.ndarray) -> np.ndarray:
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)
    return unit @ unit.T


def test_dimension_is_configurable(corpus: list[CorpusVideo]) -> None:
    model = new_analyzer(corpus, dimension=64)
    out = model.embed_video(as_video(corpus[3]))
    assert model.embedding_dimension == 64 and out.value.vector.shape == (64,)
    assert model.embed_text("snow day").value.dimension == 64
    with pytest.raises(ValueError, match="at least 8"):
        LocalAnalyzer(lambda key: Path(key), dimension=4)


def test_text_search_ranks_videos_by_their_hashtags_and_on_screen_text(
    corpus: list[CorpusVideo], model: LocalAnalyzer, embeddings: dict[str, np.ndarray]
) -> None:
    query = model.embed_text("sunset").value
    assert query.dimension == 256 and float(np.linalg.norm(query.vector)) == pytest.approx(1.0, abs=1e-5)
    scores = {name: float(vector @ query.vector) for name, vector in embeddings.items()}
    tagged = [c.path.stem for c in corpus if "sunset" in c.hashtags]
    assert tagged and min(scores[n] for n in tagged) > max(s for n, s in scores.items() if n not in tagged)
    caption = model.embed_text("got milk").value.vector
    captioned = {c.path.stem for c in corpus if c.caption}
    best = sorted(embeddings, key=lambda n: -float(embeddings[n] @ caption))[: len(captioned)]
    assert set(best) == captioned
    with pytest.raises(InvalidInputError):
        model.embed_text("?!")


def test_insights_from_the_file(corpus: list[CorpusVideo], model: LocalAnalyzer) -> None:
    by_name = {c.path.stem: c for c in corpus}
    with_audio = model.describe_video(as_video(by_name["sunset_1"]), Campaign())
    assert with_audio.value.model_id == INSIGHTS_MODEL_ID
    # The generated soundtracks are tones and noise, not speech: "#gotmilk" is no mention.
    assert with_audio.value.audio_available and with_audio.value.product_mentioned is False
    assert with_audio.value.product_shown and "GOT MILK?" in with_audio.value.on_screen_text
    assert with_audio.usage[0].model_type is ModelType.PEGASUS
    silent = model.describe_video(as_video(by_name["sunset_2"]), Campaign()).value
    assert silent.audio_available is False and silent.product_mentioned is None
    plain = model.describe_video(as_video(by_name["sunset_4"]), Campaign()).value
    assert plain.on_screen_text == [] and not plain.product_shown and plain.participation_score == 0.0
    assert len(plain.scenes) == 3


def test_both_branches_share_one_decode(corpus: list[CorpusVideo], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = analyzer_module.read_frames

    def counting(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(analyzer_module, "read_frames", counting)
    model = new_analyzer(corpus)
    video = as_video(corpus[2])
    barrier = threading.Barrier(2)
    results: list[object] = []

    def branch(call: str) -> None:
        barrier.wait()
        results.append(model.embed_video(video) if call == "embed" else model.describe_video(video, Campaign()))

    threads = [threading.Thread(target=branch, args=(c,)) for c in ("embed", "describe")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and len(calls) == 1
    model.embed_video(video)
    assert len(calls) == 1


def test_a_broken_file_is_an_analysis_error_naming_the_video(corpus: list[CorpusVideo], tmp_path: Path) -> None:
    (tmp_path / "vid_bad.mp4").write_bytes(b"not a video at all\n" * 50)
    model = LocalAnalyzer(lambda key: tmp_path / key)
    video = Video(video_id="vid_bad", user_id="u", media_key="vid_bad.mp4", created_at=NOW, updated_at=NOW)
    with pytest.raises(AnalysisError) as caught:
        model.embed_video(video)
    assert caught.value.video_id == "vid_bad" and caught.value.model_id == EMBEDDING_MODEL_ID
    assert "not a decodable video" in caught.value.message and not caught.value.retryable
    with pytest.raises(AnalysisError) as again:  # failures are not cached as successes
        model.describe_video(video, Campaign())
    assert again.value.model_id == INSIGHTS_MODEL_ID
