"""Collects adapter factories from ``tests/contract/factories/*.py`` and parametrises the suites.

See ``factories/README.md`` for the dict names and factory signatures.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

FACTORY_DICTS = (
    "VIDEO_STORES",
    "MOB_STORES",
    "MEDIA_STORES",
    "VECTOR_INDEXES",
    "EVENT_BUSES",
    "METRICS",
    "WORKFLOWS",
    "EXECUTION_LOGS",
    "ANALYZERS",
    "CLAIM_STORES",
)

Factory = Callable[..., Any]


def _discover() -> dict[str, list[Any]]:
    """``{dict name: [pytest.param(factory, id="module:key"), ...]}`` over every factory module."""
    params: dict[str, list[Any]] = {name: [] for name in FACTORY_DICTS}
    folder = Path(__file__).parent / "factories"
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"tests.contract.factories.{path.stem}")
        except pytest.skip.Exception as skipped:
            # An optional dependency is missing: show the family as skipped in every suite.
            reason = f"factories/{path.name} skipped: {skipped.msg}"
            for name in FACTORY_DICTS:
                params[name].append(pytest.param(None, id=f"{path.stem}:*", marks=pytest.mark.skip(reason=reason)))
            continue
        for name in FACTORY_DICTS:
            for key, factory in getattr(module, name, {}).items():
                params[name].append(pytest.param(factory, id=f"{path.stem}:{key}"))
    return params


PARAMS = _discover()


def _entered(request: pytest.FixtureRequest, *args: Any) -> Iterator[Any]:
    factory: Factory = request.param
    with factory(*args) as adapter:
        yield adapter


@pytest.fixture(params=PARAMS["VIDEO_STORES"])
def video_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _entered(request)


@pytest.fixture(params=PARAMS["VIDEO_STORES"])
def video_store_factory(request: pytest.FixtureRequest) -> Factory:
    """The factory itself, for hypothesis tests that need a fresh store per example."""
    factory: Factory = request.param
    return factory


@pytest.fixture(params=PARAMS["CLAIM_STORES"])
def claim_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``(claims, videos)``: a claim store and the video store it shares its table or database with."""
    yield from _entered(request)


@pytest.fixture(params=PARAMS["MOB_STORES"])
def mob_store(request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _entered(request)


@pytest.fixture(params=PARAMS["MEDIA_STORES"])
def media(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``(store, upload)``."""
    yield from _entered(request)


@pytest.fixture(params=PARAMS["VECTOR_INDEXES"])
def make_index(request: pytest.FixtureRequest) -> Iterator[Callable[[int], Any]]:
    """``make_index(dimension)`` enters the factory for that dimension; everything is closed after the test."""
    factory: Factory = request.param
    with ExitStack() as stack:
        yield lambda dimension: stack.enter_context(factory(dimension))


@pytest.fixture(params=PARAMS["EVENT_BUSES"])
def event_bus(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``(bus, read_published)``."""
    yield from _entered(request)


@pytest.fixture(params=PARAMS["METRICS"])
def metrics(request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _entered(request)


@pytest.fixture(params=PARAMS["EXECUTION_LOGS"])
def execution_log(request: pytest.FixtureRequest) -> Iterator[Any]:
    yield from _entered(request)


@pytest.fixture(params=PARAMS["ANALYZERS"])
def analyzer(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``(analyzer, put_video)``."""
    yield from _entered(request)


@pytest.fixture(params=PARAMS["WORKFLOWS"])
def workflow(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``(workflow, new_video, settle)``."""
    yield from _entered(request)
