"""The composition root."""

from __future__ import annotations

import dataclasses

import pytest
from tests.unit.core_support import make_app, upload

from milkmobs.adapters.bundle import AdapterSet
from milkmobs.adapters.inprocess import InProcessOrchestrator
from milkmobs.adapters.memory import FakeAnalyzer, InMemoryVectorIndex, InMemoryVideoStore
from milkmobs.bootstrap import AdapterOverrides, build, core_config
from milkmobs.domain import ConfigurationError
from milkmobs.settings import Settings, recorded_reads


def test_build_memory_from_settings() -> None:
    settings = Settings(
        backend="memory",
        models={"embedding_dimension": 16, "pegasus_price_per_second": 1.5},
        uploads={"max_upload_bytes": 123},
        clustering={"join_threshold": 0.5},
    )
    with build(settings) as app:
        assert app.ports.index.dimension == 16 == app.ports.analyzer.embedding_dimension
        assert isinstance(app.workflow, InProcessOrchestrator)
        assert app.config.max_upload_bytes == 123 and app.config.cluster_join_threshold == 0.5
        assert app.config.prices_per_second[settings.models.pegasus_model_id] == 1.5
        assert app.ports.media_processor is not None


def test_the_price_table_is_read_from_the_settings_on_first_use_and_then_kept() -> None:
    settings = Settings(models={"pegasus_price_per_second": 1.5, "marengo_price_per_second": 0.5})
    pegasus, marengo = settings.models.pegasus_model_id, settings.models.marengo_model_id
    with recorded_reads() as read:
        prices = core_config(settings).prices_per_second
    assert not {name for name in read if "price" in name or "model_id" in name}  # nothing read yet
    with recorded_reads() as read:
        assert prices[pegasus] == 1.5
    assert {"models.pegasus_price_per_second", "models.marengo_price_per_second"} <= read
    with recorded_reads() as read:
        assert prices.get(marengo) == 0.5 and prices.get("local.ocr-v1") is None
        assert len(prices) == 2 and set(prices) == {pegasus, marengo}
    assert read == set()  # every later lookup uses the table built once


def test_core_config_maps_every_field() -> None:
    settings = Settings(
        random_seed=3, clustering={"batch_k": 7, "batch_max_iter": 9}, uploads={"read_url_expires_seconds": 60}
    )
    config = core_config(settings)
    assert (config.batch_cluster_k, config.batch_cluster_max_iter, config.random_seed) == (7, 9, 3)
    assert config.read_url_expires_seconds == 60 and config.campaign == settings.campaign


def test_overrides_replace_single_adapters() -> None:
    videos = InMemoryVideoStore()
    with make_app(videos=videos, analyzer=lambda a: FakeAnalyzer(a.media, dimension=32, seed=5)) as app:
        assert app.ports.videos is videos
        upload(app)
        assert videos.stats().total_videos == 1


def test_the_typed_overrides_name_every_adapter_of_a_backend() -> None:
    """A field added to AdapterSet is replaceable at once (and typed) through build's overrides."""
    adapters = {field.name for field in dataclasses.fields(AdapterSet)} - {"closers"}
    assert AdapterOverrides.__optional_keys__ == adapters | {"clock", "ids"}
    assert AdapterOverrides.__required_keys__ == frozenset()


def test_unknown_overrides_and_dimension_mismatches_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown override"):
        build(Settings(), videoz=object())
    with pytest.raises(ConfigurationError, match="dimensions"):
        build(Settings(models={"embedding_dimension": 32}), index=InMemoryVectorIndex(16))
    with pytest.raises(ConfigurationError, match="EMBEDDING_DIMENSION"):
        build(
            Settings(models={"embedding_dimension": 32}),
            analyzer=lambda a: FakeAnalyzer(a.media, dimension=16),
            index=InMemoryVectorIndex(16),
        )


def test_close_runs_every_closer_once_even_if_one_fails() -> None:
    app = make_app()
    calls: list[str] = []
    app.add_closer(lambda: calls.append("a"))

    def broken() -> None:
        calls.append("b")
        raise RuntimeError("boom")

    app.add_closer(broken)
    with pytest.raises(RuntimeError):
        app.close()
    app.close()
    assert calls == ["b", "a"]


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILKMOBS_BACKEND", "memory")
    monkeypatch.setenv("MILKMOBS_MODELS__EMBEDDING_DIMENSION", "8")
    with build() as app:
        assert app.ports.index.dimension == 8
