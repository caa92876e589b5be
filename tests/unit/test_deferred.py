"""Adapters built on first use: once, under concurrency, and checked before anyone gets them."""

from __future__ import annotations

import threading

import pytest

from milkmobs.adapters.bundle import AdapterSet
from milkmobs.adapters.deferred import built, on_first_use, pending
from milkmobs.adapters.memory import FakeAnalyzer, InMemoryVectorIndex, InMemoryVideoStore
from milkmobs.bootstrap import build
from milkmobs.domain import ConfigurationError
from milkmobs.ports import Analyzer
from milkmobs.settings import Settings


def test_nothing_is_built_until_used_and_then_once_whatever_the_threads() -> None:
    made: list[InMemoryVideoStore] = []
    gate = threading.Barrier(8)

    def make() -> InMemoryVideoStore:
        made.append(InMemoryVideoStore())
        return made[-1]

    store = on_first_use("video store", make)
    assert made == [] and pending(store) is not None and "built on first use" in repr(store)

    def use() -> None:
        gate.wait()
        store.get_many([])  # the adapter's own ``get_many``: the stand-in has no public attribute of its own

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and built(store) is made[0] and pending(store) is None
    assert isinstance(store, InMemoryVideoStore)


def test_known_attributes_answer_without_building() -> None:
    index = on_first_use("index", lambda: InMemoryVectorIndex(8), dimension=lambda: 8)
    assert index.dimension == 8 and pending(index) is not None


def test_an_index_of_another_dimension_fails_where_it_is_first_used() -> None:
    """Built on first use, the index is checked against the analyzer then (and stays unbuilt)."""
    index = on_first_use("index", lambda: InMemoryVectorIndex(16), dimension=lambda: 16)
    with build(Settings(models={"embedding_dimension": 32}), index=index) as app:
        for _ in range(2):
            with pytest.raises(ConfigurationError, match="dimensions"):
                app.ports.index.count()
        assert pending(app.ports.index) is not None


def test_a_stand_in_analyzer_is_checked_against_the_index_when_built() -> None:
    def analyzer(adapters: AdapterSet) -> Analyzer:
        return on_first_use(
            "analyzer", lambda: FakeAnalyzer(adapters.media, dimension=16), embedding_dimension=lambda: 16
        )

    with build(Settings(), index=InMemoryVectorIndex(32), analyzer=analyzer) as app:
        assert app.ports.analyzer.embedding_dimension == 16  # known: nothing built, nothing checked yet
        with pytest.raises(ConfigurationError, match=r"embeds in 16 dimensions but .* holds 32"):
            app.ports.analyzer.embed_text("milk")
