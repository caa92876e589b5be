"""The adapter's requests use only what the OpenSearch documentation shows, so nothing works only on the double.

Each documented example below is copied in shape from the OpenSearch docs (URLs beside them).
A request "fits" when every key path it uses — with index-specific field names generalised
to ``<field>`` — appears in some documented example of the same endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from tests.opensearch_double import OpenSearchTestDouble

from milkmobs.adapters.aws.factory_models import build_vector_index
from milkmobs.adapters.aws.opensearch import OpenSearchVectorIndex
from milkmobs.domain.errors import ConfigurationError
from milkmobs.ports import IndexedVector
from milkmobs.settings import Settings

# https://docs.opensearch.org/latest/field-types/supported-field-types/knn-methods-engines/ (method definition)
DOC_CREATE_KNN = {
    "settings": {"index": {"knn": True, "knn.algo_param.ef_search": 100}},
    "mappings": {
        "properties": {
            "my_vector1": {
                "type": "knn_vector",
                "dimension": 1024,
                "method": {
                    "name": "hnsw",
                    "space_type": "l2",
                    "engine": "faiss",
                    "parameters": {"ef_construction": 128, "m": 24},
                },
            }
        }
    },
}
# https://docs.opensearch.org/2.19/vector-search/optimizing-storage/faiss-16-bit-quantization/ (the encoder
# object and its SQ parameters, as 2.13-2.19 take them)
DOC_CREATE_SQ_FP16 = {
    "mappings": {
        "properties": {
            "my_vector1": {
                "type": "knn_vector",
                "dimension": 3,
                "space_type": "l2",
                "method": {
                    "name": "hnsw",
                    "engine": "faiss",
                    "parameters": {
                        "encoder": {"name": "sq", "parameters": {"type": "fp16", "clip": False}},
                        "ef_construction": 256,
                        "m": 8,
                    },
                },
            }
        }
    },
}
# https://docs.opensearch.org/latest/field-types/supported-field-types/keyword/
DOC_CREATE_KEYWORD = {"mappings": {"properties": {"genre": {"type": "keyword"}}}}
# https://docs.opensearch.org/latest/vector-search/filter-search-knn/efficient-knn-filtering/ (Lucene/Faiss filter,
# and "Constructing a filter", whose bool uses must, should and must_not)
DOC_SEARCH_FILTERED = {
    "size": 3,
    "query": {
        "knn": {
            "location": {
                "vector": [5, 4],
                "k": 3,
                "filter": {
                    "bool": {
                        "must": [{"range": {"rating": {"gte": 8, "lte": 10}}}, {"term": {"parking": "true"}}],
                        "should": [{"term": {"parking": "true"}}],
                        "must_not": [{"term": {"parking": "false"}}],
                    }
                },
            }
        }
    },
}
# https://docs.opensearch.org/latest/vector-search/vector-search-techniques/approximate-knn/ (plain k-NN query)
DOC_SEARCH_PLAIN = {"size": 2, "query": {"knn": {"my_vector2": {"vector": [2, 3, 5, 6], "k": 2}}}}
# https://docs.opensearch.org/latest/search-plugins/searching-data/retrieve-specific-fields/ (source filtering)
DOC_SEARCH_SOURCE = {"_source": ["title", "author"], "query": {"match_all": {}}}
# https://docs.opensearch.org/latest/api-reference/document-apis/bulk/ (index action + document)
DOC_BULK_ACTION = {"index": {"_index": "movies", "_id": "tt1392214"}}

FIELD_PARENTS = {"properties", "knn", "term", "range"}


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in ``value``; list items become ``[]`` and field names under FIELD_PARENTS ``<field>``."""
    paths: set[str] = set()
    if isinstance(value, dict):
        parent = prefix.rsplit(".", 1)[-1]
        for key, child in value.items():
            name = "<field>" if parent in FIELD_PARENTS else key
            path = f"{prefix}.{name}" if prefix else name
            paths.add(path)
            paths |= key_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            paths |= key_paths(child, f"{prefix}[]")
    return paths


def documented(*examples: dict[str, Any]) -> set[str]:
    return set().union(*(key_paths(e) for e in examples))


@pytest.fixture
def traced() -> Iterator[tuple[OpenSearchVectorIndex, OpenSearchTestDouble]]:
    with OpenSearchTestDouble() as double:
        settings = Settings(opensearch={"endpoint": double.url, "auth": "none", "index_prefix": "t-"})
        yield build_vector_index(settings, dimension=4), double


def exercise(index: OpenSearchVectorIndex) -> None:
    vectors = np.eye(4, dtype=np.float32)
    index.create_index()
    index.upsert(IndexedVector("a", vectors[0], status="validated", mob_id="m1"))
    index.upsert_many([IndexedVector(f"b{i}", vectors[i], status="rejected") for i in range(4)])
    index.search(vectors[0], k=2)
    index.search(vectors[0], k=3, mob_id="m1", status="validated", exclude_video_id="b0")
    index.get_vector("a")
    index.count()
    index.delete("a")


@pytest.mark.parametrize(("engine", "space"), [("faiss", "innerproduct"), ("lucene", "cosinesimil")])
def test_create_index_body_fits_the_documented_mapping(engine: str, space: str) -> None:
    index = OpenSearchVectorIndex(None, index_name="x", dimension=512, engine=engine, space=space)  # type: ignore[arg-type]
    body = index.index_body()
    assert key_paths(body) <= documented(DOC_CREATE_KNN, DOC_CREATE_SQ_FP16, DOC_CREATE_KEYWORD)
    method = body["mappings"]["properties"]["embedding"]["method"]
    # faiss keeps the graph's vectors as 16-bit floats (half the k-NN memory); lucene as 32-bit
    encoder = {"encoder": {"name": "sq", "parameters": {"type": "fp16"}}} if engine == "faiss" else {}
    assert method == {
        "name": "hnsw",
        "space_type": space,
        "engine": engine,
        "parameters": {"ef_construction": 128, "m": 16, **encoder},
    }
    assert body["mappings"]["properties"]["embedding"]["dimension"] == 512


def test_quantization_is_fp16_or_none_and_fp16_only_on_faiss() -> None:
    plain = OpenSearchVectorIndex(None, index_name="x", dimension=8, quantization="none")  # type: ignore[arg-type]
    assert "encoder" not in plain.index_body()["mappings"]["properties"]["embedding"]["method"]["parameters"]
    for engine, space, quantization in (("lucene", "cosinesimil", "fp16"), ("faiss", "innerproduct", "int8")):
        with pytest.raises(ConfigurationError, match=f"quantization {quantization!r} is not available on {engine}"):
            OpenSearchVectorIndex(
                None,  # type: ignore[arg-type]
                index_name="x",
                dimension=8,
                engine=engine,
                space=space,
                quantization=quantization,
            )


def test_search_bodies_fit_the_documented_knn_queries(
    traced: tuple[OpenSearchVectorIndex, OpenSearchTestDouble],
) -> None:
    index, double = traced
    exercise(index)
    searches = [r.body for r in double.requests if r.path.endswith("/_search")]
    assert len(searches) == 2
    allowed = documented(DOC_SEARCH_FILTERED, DOC_SEARCH_PLAIN, DOC_SEARCH_SOURCE)
    for body in searches:
        assert key_paths(body) <= allowed, key_paths(body) - allowed
    filtered = searches[1]["query"]["knn"]["embedding"]
    assert filtered["k"] == 3
    assert filtered["filter"] == {
        "bool": {
            "must": [{"term": {"mobId": "m1"}}, {"term": {"status": "validated"}}],
            "must_not": [{"term": {"videoId": "b0"}}],
        }
    }
    assert float(np.linalg.norm(filtered["vector"])) == pytest.approx(1.0)


def test_bulk_and_document_requests_use_documented_endpoints(
    traced: tuple[OpenSearchVectorIndex, OpenSearchTestDouble],
) -> None:
    index, double = traced
    exercise(index)
    name = index.index_name
    seen = {(r.method, r.path.replace(name, "{index}")) for r in double.requests}
    assert seen <= {
        ("HEAD", "/{index}"),
        ("PUT", "/{index}"),
        ("GET", "/{index}/_mapping"),
        ("PUT", "/{index}/_doc/a"),
        ("POST", "/_bulk"),
        ("POST", "/{index}/_search"),
        ("GET", "/{index}/_doc/a"),
        ("POST", "/{index}/_count"),
        ("GET", "/{index}/_count"),
        ("DELETE", "/{index}/_doc/a"),
    }, seen
    assert all(set(r.params) <= {"refresh"} for r in double.requests)
    assert {r.params.get("refresh") for r in double.requests if r.params} == {"wait_for"}
    (bulk,) = [r.body for r in double.requests if r.path == "/_bulk"]
    actions, documents = bulk[0::2], bulk[1::2]
    for action in actions:
        assert key_paths(action) == key_paths(DOC_BULK_ACTION)
    assert [a["index"]["_id"] for a in actions] == ["b0", "b1", "b2", "b3"]
    assert all(set(d) == {"videoId", "status", "mobId", "embedding"} for d in documents)
