"""The in-memory state of the OpenSearch **test double**: indices, documents, k-NN search.

Only what ``OpenSearchVectorIndex`` uses, and strictly: anything outside this subset is a 400,
so the adapter cannot come to depend on something a real cluster would refuse. Scores follow
the OpenSearch "Spaces" documentation table (field-types/supported-field-types/knn-spaces).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: HNSW spaces per engine, from the "Methods and engines" page (faiss cosinesimil: 2.19+).
ENGINE_SPACES = {
    "faiss": {"l2", "innerproduct", "cosinesimil"},
    "lucene": {"l2", "innerproduct", "cosinesimil"},
    "nmslib": {"l2", "innerproduct", "cosinesimil", "l1", "linf"},
}


class ApiError(Exception):
    """An error answer: HTTP status, OpenSearch error type and reason."""

    def __init__(self, status: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "root_cause": [{"type": self.kind, "reason": self.reason}],
                "type": self.kind,
                "reason": self.reason,
            },
            "status": self.status,
        }


def _require(condition: bool, reason: str, kind: str = "parsing_exception", status: int = 400) -> None:
    if not condition:
        raise ApiError(status, kind, reason)


def knn_score(query: np.ndarray, vector: np.ndarray, *, engine: str, space: str) -> float:
    """The OpenSearch ``_score`` of ``vector`` for ``query`` (float32, as the engine reports it)."""
    q, v = query.astype(np.float32), vector.astype(np.float32)
    if space == "l2":
        score = 1.0 / (1.0 + float(np.sum((q - v) ** 2)))
    elif space == "cosinesimil":
        d = 1.0 - float(q @ v) / (float(np.linalg.norm(q)) * float(np.linalg.norm(v)))
        score = (2.0 - d) / 2.0
    elif space == "innerproduct":
        dot = float(q @ v)
        if engine == "lucene":  # d = dot: d > 0 -> d + 1, else 1 / (1 + (-1 * d))
            score = dot + 1.0 if dot > 0 else 1.0 / (1.0 - dot)
        else:  # faiss and nmslib: d = -dot; d >= 0 -> 1 / (1 + d), else -d + 1
            d = -dot
            score = 1.0 / (1.0 + d) if d >= 0 else -d + 1.0
    else:
        raise ApiError(400, "illegal_argument_exception", f"space {space} not implemented by the test double")
    return float(np.float32(score))


@dataclass
class Index:
    """One index: its mapping and documents."""

    name: str
    settings: dict[str, Any]
    properties: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, body: dict[str, Any]) -> Index:
        _require(set(body) <= {"settings", "mappings"}, f"unknown create-index keys {sorted(body)}")
        settings = body.get("settings", {}).get("index", {})
        _require(set(body.get("settings", {})) <= {"index"}, "settings must be under 'index'")
        _require(
            set(settings) <= {"knn", "knn.algo_param.ef_search", "number_of_shards", "number_of_replicas"},
            f"unsupported index settings {sorted(settings)}",
        )
        mappings = body.get("mappings", {})
        _require(set(mappings) <= {"properties"}, f"unsupported mapping keys {sorted(mappings)}")
        properties = mappings.get("properties", {})
        for field_name, spec in properties.items():
            kind = spec.get("type")
            if kind == "keyword":
                _require(
                    set(spec) == {"type"}, f"unsupported keyword options on {field_name}", "mapper_parsing_exception"
                )
            elif kind == "knn_vector":
                _require(settings.get("knn") is True, "knn_vector needs index.knn: true", "mapper_parsing_exception")
                _require(
                    set(spec) <= {"type", "dimension", "method", "space_type"},
                    f"bad knn_vector keys on {field_name}",
                    "mapper_parsing_exception",
                )
                _require(
                    isinstance(spec.get("dimension"), int) and spec["dimension"] > 0,
                    "dimension required",
                    "mapper_parsing_exception",
                )
                method = spec.get("method", {})
                _require(
                    set(method) <= {"name", "space_type", "engine", "parameters"},
                    "bad method keys",
                    "mapper_parsing_exception",
                )
                _require(method.get("name") == "hnsw", "only hnsw is implemented", "mapper_parsing_exception")
                engine, space = method.get("engine", "faiss"), method.get("space_type", spec.get("space_type", "l2"))
                _require(
                    space in ENGINE_SPACES.get(engine, set()),
                    f"{engine} does not support space {space}",
                    "mapper_parsing_exception",
                )
                parameters = method.get("parameters", {})
                _require(
                    set(parameters) <= {"m", "ef_construction", "ef_search", "encoder"},
                    "bad hnsw parameters",
                    "mapper_parsing_exception",
                )
                if "encoder" in parameters:  # faiss's 16-bit scalar quantizer (2.13+), the 2.x form
                    encoder = parameters["encoder"]
                    _require(
                        engine == "faiss"
                        and encoder.get("name") == "sq"
                        and set(encoder.get("parameters", {})) <= {"type", "clip"}
                        and encoder.get("parameters", {}).get("type", "fp16") == "fp16",
                        f"unsupported encoder {encoder} on {engine}",
                        "mapper_parsing_exception",
                    )
            else:
                raise ApiError(400, "mapper_parsing_exception", f"type {kind} not implemented by the test double")
        return cls(name=name, settings=settings, properties=properties)

    def mapping(self) -> dict[str, Any]:
        return {"properties": self.properties}

    def _vector_fields(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.properties.items() if v["type"] == "knn_vector"}

    def put(self, doc_id: str, source: dict[str, Any]) -> str:
        _require(isinstance(source, dict), "document must be an object", "mapper_parsing_exception")
        for name, spec in self._vector_fields().items():
            value = source.get(name)
            if value is None:
                continue
            _require(
                isinstance(value, list) and len(value) == spec["dimension"],
                f"Vector dimension mismatch. Expected: {spec['dimension']}",
                "mapper_parsing_exception",
            )
            _require(
                all(isinstance(x, int | float) and math.isfinite(x) for x in value),
                "vector values must be finite numbers",
                "mapper_parsing_exception",
            )
        result = "updated" if doc_id in self.docs else "created"
        self.docs[doc_id] = source
        self.versions[doc_id] = self.versions.get(doc_id, 0) + 1
        return result

    def matches(self, source: dict[str, Any], clause: dict[str, Any]) -> bool:
        _require(len(clause) == 1, f"a query clause has exactly one key, got {sorted(clause)}")
        ((kind, body),) = clause.items()
        if kind == "term":
            ((name, value),) = body.items()
            value = value.get("value") if isinstance(value, dict) else value
            return bool(source.get(name) == value)
        if kind == "terms":
            ((name, values),) = body.items()
            return source.get(name) in values
        if kind == "bool":
            _require(set(body) <= {"must", "filter", "must_not", "should"}, f"bad bool keys {sorted(body)}")

            def clauses(key: str) -> list[dict[str, Any]]:
                value = body.get(key, [])
                return value if isinstance(value, list) else [value]

            positive = clauses("must") + clauses("filter")
            ok = all(self.matches(source, c) for c in positive)
            ok = ok and not any(self.matches(source, c) for c in clauses("must_not"))
            if clauses("should"):
                ok = ok and any(self.matches(source, c) for c in clauses("should"))
            return ok
        raise ApiError(400, "parsing_exception", f"query [{kind}] not implemented by the test double")

    def search(self, body: dict[str, Any]) -> list[tuple[str, float]]:
        _require(set(body) <= {"size", "query", "_source"}, f"unsupported search keys {sorted(body)}")
        query = body.get("query", {"match_all": {}})
        size = int(body.get("size", 10))
        if "match_all" in query:
            return [(doc_id, 1.0) for doc_id in sorted(self.docs)][:size]
        _require(set(query) == {"knn"}, f"unsupported query {sorted(query)}")
        ((name, knn),) = query["knn"].items()
        spec = self._vector_fields().get(name)
        _require(spec is not None, f"field [{name}] is not a knn_vector field", "query_shard_exception")
        assert spec is not None
        _require(set(knn) <= {"vector", "k", "filter"}, f"unsupported knn parameters {sorted(knn)}")
        _require(isinstance(knn.get("k"), int) and knn["k"] > 0, "[knn] requires k > 0")
        vector = np.asarray(knn.get("vector"), dtype=np.float32)
        _require(vector.shape == (spec["dimension"],), "query vector has the wrong dimension", "query_shard_exception")
        method = spec.get("method", {})
        engine, space = method.get("engine", "faiss"), method.get("space_type", spec.get("space_type", "l2"))
        scored = [
            (doc_id, knn_score(vector, np.asarray(src[name], dtype=np.float32), engine=engine, space=space))
            for doc_id, src in self.docs.items()
            if name in src and ("filter" not in knn or self.matches(src, knn["filter"]))
        ]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[: knn["k"]][:size]


def filter_source(source: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    """Apply a ``_source`` request option: bool, list of fields, or includes/excludes."""
    if spec is None or spec is True:
        return source
    if spec is False:
        return None
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, list):
        return {k: v for k, v in source.items() if k in spec}
    _require(isinstance(spec, dict) and set(spec) <= {"includes", "excludes"}, "bad _source option")
    includes, excludes = spec.get("includes"), set(spec.get("excludes", []))
    return {k: v for k, v in source.items() if (includes is None or k in includes) and k not in excludes}
