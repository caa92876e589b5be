"""``OpenSearchVectorIndex`` in the VectorIndex contract suite.

Against the OpenSearch **test double** (``tests/opensearch_double``) over real HTTP, once per
supported engine/space pair, so every score conversion is exercised. With ``OPENSEARCH_URL``
set (and optionally ``OPENSEARCH_USERNAME``/``OPENSEARCH_PASSWORD``, ``OPENSEARCH_ENGINE``,
``OPENSEARCH_SPACE``, ``OPENSEARCH_VERIFY_CERTS=false``) the same suite also runs against that
real cluster; each test uses its own index and deletes it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

pytest.importorskip("opensearchpy")

from milkmobs.adapters.aws.factory_models import build_vector_index
from milkmobs.adapters.aws.opensearch import OpenSearchVectorIndex
from milkmobs.settings import Settings
from tests.opensearch_double import OpenSearchTestDouble

IndexFactory = Callable[[int], AbstractContextManager[OpenSearchVectorIndex]]


def _settings(endpoint: str, engine: str, space: str, **opensearch: object) -> Settings:
    return Settings(
        opensearch={
            "endpoint": endpoint,
            "index_prefix": f"contract-{uuid.uuid4().hex[:12]}-",
            "engine": engine,
            "space": space,
            **opensearch,
        },
    )


def _on_double(engine: str, space: str) -> IndexFactory:
    @contextmanager
    def factory(dimension: int) -> Iterator[OpenSearchVectorIndex]:
        with OpenSearchTestDouble() as double:
            settings = _settings(double.url, engine, space, auth="none")
            index = build_vector_index(settings, dimension=dimension)
            index.create_index()
            yield index

    return factory


def _on_live_cluster(url: str) -> IndexFactory:
    @contextmanager
    def factory(dimension: int) -> Iterator[OpenSearchVectorIndex]:
        settings = _settings(
            url,
            os.environ.get("OPENSEARCH_ENGINE", "faiss"),
            os.environ.get("OPENSEARCH_SPACE", "innerproduct"),
            username=os.environ.get("OPENSEARCH_USERNAME"),
            password=os.environ.get("OPENSEARCH_PASSWORD"),
            verify_certs=os.environ.get("OPENSEARCH_VERIFY_CERTS", "true").lower() != "false",
        )
        index = build_vector_index(settings, dimension=dimension)
        index.create_index()
        try:
            yield index
        finally:
            index.drop_index()

    return factory


VECTOR_INDEXES: dict[str, IndexFactory] = {
    "OpenSearchVectorIndex[double-faiss-innerproduct]": _on_double("faiss", "innerproduct"),
    "OpenSearchVectorIndex[double-faiss-l2]": _on_double("faiss", "l2"),
    "OpenSearchVectorIndex[double-lucene-cosinesimil]": _on_double("lucene", "cosinesimil"),
    "OpenSearchVectorIndex[double-lucene-innerproduct]": _on_double("lucene", "innerproduct"),
}
if os.environ.get("OPENSEARCH_URL"):
    VECTOR_INDEXES["OpenSearchVectorIndex[live]"] = _on_live_cluster(os.environ["OPENSEARCH_URL"])
