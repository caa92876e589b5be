"""``OpenSearchVectorIndex``: the VectorIndex port on an OpenSearch k-NN index (opensearch-py).

Documents are ``{_id: videoId, videoId, status, mobId, embedding}``; ``embedding`` is a
``knn_vector`` of the configured dimension indexed with HNSW on the faiss or lucene engine
(nmslib is deprecated upstream). Scores come back as true cosines (see ``scores``).

On faiss the graph keeps its vectors as 16-bit floats (the ``sq`` encoder, ``type: fp16``,
OpenSearch 2.13 and later): half the k-NN memory, so half the data nodes for a given number of
vectors, for a recall loss ``benchmarks/capacity.py`` measures (none at 3 decimals on unit
vectors). Unit-vector components sit far inside fp16's range, so nothing is clipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, OpenSearchException, RequestError

from milkmobs.adapters.aws.opensearch.errors import translate
from milkmobs.adapters.aws.opensearch.scores import SUPPORTED_SPACES, cosine_from_score
from milkmobs.domain import Vector, VideoStatus
from milkmobs.domain.errors import BackendUnavailableError, ConfigurationError, InvalidInputError
from milkmobs.ports import IndexedVector, VectorHit
from milkmobs.ports.vector_index import checked_vectors, unit_query

VECTOR_FIELD = "embedding"
INDEX_SUFFIX = "video-embeddings"
#: Vectors further than this from unit length are normalised before indexing.
_UNIT_TOLERANCE = 1e-5
#: Graph vector encodings: fp16 (faiss's 16-bit scalar quantizer) or none (32-bit floats).
QUANTIZATIONS = ("fp16", "none")


class OpenSearchVectorIndex:
    """k-NN over unit vectors in one OpenSearch index; scores are true cosines."""

    def __init__(
        self,
        client: OpenSearch,
        *,
        index_name: str,
        dimension: int,
        engine: str = "faiss",
        space: str = "innerproduct",
        m: int = 16,
        ef_construction: int = 128,
        ef_search: int = 128,
        refresh: bool | str = "wait_for",
        create_if_missing: bool = True,
        quantization: str | None = None,
    ) -> None:
        """``quantization``: ``fp16`` or ``none``; by default fp16 on faiss, none on lucene (whose
        own scalar quantizer is 7-bit and not offered here)."""
        if dimension < 1:
            raise ConfigurationError(f"vector index dimension must be positive, got {dimension}")
        if engine not in SUPPORTED_SPACES:
            raise ConfigurationError(
                f"OpenSearch engine {engine!r} is not supported: use 'faiss' or 'lucene' (nmslib is deprecated)"
            )
        if space not in SUPPORTED_SPACES[engine]:
            raise ConfigurationError(
                f"space {space!r} is not available for HNSW on {engine}: use one of {sorted(SUPPORTED_SPACES[engine])}"
            )
        quantization = quantization or ("fp16" if engine == "faiss" else "none")
        if quantization not in QUANTIZATIONS or (quantization == "fp16" and engine != "faiss"):
            raise ConfigurationError(
                f"vector quantization {quantization!r} is not available on {engine}: use "
                f"{'fp16 or none' if engine == 'faiss' else 'none'}"
            )
        self._quantization = quantization
        self._client = client
        self._index = index_name
        self._dimension = dimension
        self._engine = engine
        self._space = space
        self._m = m
        self._ef_construction = ef_construction
        self._ef_search = ef_search
        self._refresh = refresh
        self._create_if_missing = create_if_missing
        self._ready = False

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def index_name(self) -> str:
        return self._index

    # -- index lifecycle ------------------------------------------------------------------
    def index_body(self) -> dict[str, Any]:
        """The create-index request: k-NN settings and the mapping."""
        index_settings: dict[str, Any] = {"knn": True}
        if self._engine == "faiss":  # lucene ignores ef_search and uses k instead
            index_settings["knn.algo_param.ef_search"] = self._ef_search
        parameters: dict[str, Any] = {"ef_construction": self._ef_construction, "m": self._m}
        if self._quantization == "fp16":
            # the form OpenSearch 2.13–2.19 documents (3.x also takes ``bits``)
            parameters["encoder"] = {"name": "sq", "parameters": {"type": "fp16"}}
        return {
            "settings": {"index": index_settings},
            "mappings": {
                "properties": {
                    VECTOR_FIELD: {
                        "type": "knn_vector",
                        "dimension": self._dimension,
                        "method": {
                            "name": "hnsw",
                            "space_type": self._space,
                            "engine": self._engine,
                            "parameters": parameters,
                        },
                    },
                    "videoId": {"type": "keyword"},
                    "status": {"type": "keyword"},
                    "mobId": {"type": "keyword"},
                }
            },
        }

    def create_index(self) -> bool:
        """Create the index if absent (True if created); ConfigurationError if an existing one differs."""
        doing = f"creating OpenSearch index {self._index}"
        try:
            if self._client.indices.exists(index=self._index):
                self._check_existing()
                self._ready = True
                return False
            self._client.indices.create(index=self._index, body=self.index_body())
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":  # lost a race with another creator
                raise translate(exc, doing=doing) from exc
            self._check_existing()
            self._ready = True
            return False
        except OpenSearchException as exc:
            raise translate(exc, doing=doing) from exc
        self._ready = True
        return True

    def drop_index(self) -> bool:
        """Delete the whole index (True if it existed). For teardown and re-embedding, never the pipeline."""
        try:
            self._client.indices.delete(index=self._index)
        except NotFoundError:
            return False
        except OpenSearchException as exc:
            raise translate(exc, doing=f"deleting OpenSearch index {self._index}") from exc
        finally:
            self._ready = False
        return True

    def _check_existing(self) -> None:
        """An index made for another dimension or space would silently give wrong answers."""
        mapping: dict[str, Any] = self._client.indices.get_mapping(index=self._index)
        entry: dict[str, Any] = next(iter(mapping.values()), {})
        properties: dict[str, Any] = entry.get("mappings", {}).get("properties", {})
        field = properties.get(VECTOR_FIELD)
        if not field or field.get("type") != "knn_vector":
            raise ConfigurationError(
                f"OpenSearch index {self._index} exists but has no knn_vector field {VECTOR_FIELD!r}"
            )
        if int(field.get("dimension", -1)) != self._dimension:
            raise ConfigurationError(
                f"OpenSearch index {self._index} holds {field.get('dimension')}-d vectors but the embedding model "
                f"gives {self._dimension}-d ones; use a new MILKMOBS_OPENSEARCH__INDEX_PREFIX and re-embed"
            )
        method = field.get("method", {})
        space = method.get("space_type", field.get("space_type"))
        engine = method.get("engine")
        if (space and space != self._space) or (engine and engine != self._engine):
            raise ConfigurationError(
                f"OpenSearch index {self._index} uses {engine}/{space} but milkmobs is configured for "
                f"{self._engine}/{self._space}; scores would be converted wrongly — align the settings"
            )

    def _ensure(self) -> None:
        if not self._ready and self._create_if_missing:
            self.create_index()

    # -- VectorIndex ----------------------------------------------------------------------
    def _document(self, item: IndexedVector) -> dict[str, Any]:
        vector = checked_vectors([item], self._dimension)[0]
        norm = float(np.linalg.norm(vector))
        if abs(norm - 1.0) > _UNIT_TOLERANCE:  # l2/innerproduct scores are cosines only for unit vectors
            vector = (vector / norm).astype(np.float32)
        return {
            "videoId": item.video_id,
            "status": item.status,
            "mobId": item.mob_id,
            VECTOR_FIELD: [float(x) for x in vector],
        }

    def upsert(self, item: IndexedVector) -> None:
        document = self._document(item)
        self._ensure()
        try:
            self._client.index(index=self._index, id=item.video_id, body=document, refresh=self._refresh)
        except OpenSearchException as exc:
            raise translate(exc, doing=f"indexing the vector of video {item.video_id}") from exc

    def upsert_many(self, items: Sequence[IndexedVector]) -> None:
        """One ``_bulk`` request; every vector is checked before anything is sent."""
        documents = [(item.video_id, self._document(item)) for item in items]
        if not documents:
            return
        self._ensure()
        lines: list[dict[str, Any]] = []
        for video_id, document in documents:
            lines.append({"index": {"_index": self._index, "_id": video_id}})
            lines.append(document)
        try:
            response = self._client.bulk(body=lines, refresh=self._refresh)
        except OpenSearchException as exc:
            raise translate(exc, doing=f"bulk indexing {len(documents)} vectors") from exc
        if response.get("errors"):
            failed = [i["index"] for i in response.get("items", []) if i.get("index", {}).get("error")]
            first = failed[0] if failed else {}
            message = (
                f"bulk indexing: {len(failed)} of {len(documents)} vectors failed, first {first.get('_id')}: "
                f"{first.get('error')}"
            )
            if any(f.get("status", 500) == 429 or f.get("status", 500) >= 500 for f in failed):
                raise BackendUnavailableError(message + "; retry later")
            raise InvalidInputError(message)

    def delete(self, video_id: str) -> bool:
        self._ensure()
        try:
            response = self._client.delete(index=self._index, id=video_id, refresh=self._refresh)
        except NotFoundError:
            return False
        except OpenSearchException as exc:
            raise translate(exc, doing=f"deleting the vector of video {video_id}") from exc
        return bool(response.get("result") == "deleted")

    def search_body(
        self,
        vector: Vector,
        *,
        k: int,
        mob_id: str | None = None,
        status: VideoStatus | None = None,
        exclude_video_id: str | None = None,
    ) -> dict[str, Any]:
        """The ``_search`` request: a ``knn`` query with an efficient filter (faiss ≥ 2.9, lucene ≥ 2.4)."""
        query = unit_query(vector, k=k, dimension=self._dimension)
        knn: dict[str, Any] = {"vector": [float(x) for x in query], "k": k}
        must = [{"term": {name: value}} for name, value in (("mobId", mob_id), ("status", status)) if value]
        must_not = [{"term": {"videoId": exclude_video_id}}] if exclude_video_id else []
        if must or must_not:
            clauses: dict[str, Any] = {}
            if must:
                clauses["must"] = must
            if must_not:
                clauses["must_not"] = must_not
            knn["filter"] = {"bool": clauses}
        return {"size": k, "_source": ["videoId"], "query": {"knn": {VECTOR_FIELD: knn}}}

    def search(
        self,
        vector: Vector,
        *,
        k: int,
        mob_id: str | None = None,
        status: VideoStatus | None = None,
        exclude_video_id: str | None = None,
    ) -> list[VectorHit]:
        body = self.search_body(vector, k=k, mob_id=mob_id, status=status, exclude_video_id=exclude_video_id)
        self._ensure()
        try:
            response = self._client.search(index=self._index, body=body)
        except OpenSearchException as exc:
            raise translate(exc, doing="searching similar videos") from exc
        hits = [
            VectorHit(
                video_id=str(hit["_id"]),
                score=cosine_from_score(float(hit["_score"]), engine=self._engine, space=self._space),
            )
            for hit in response["hits"]["hits"]
            if hit["_id"] != exclude_video_id  # belt and braces: the filter already excludes it
        ]
        hits.sort(key=lambda h: (-h.score, h.video_id))
        return hits[:k]

    def get_vector(self, video_id: str) -> Vector | None:
        self._ensure()
        try:
            response = self._client.get(index=self._index, id=video_id)
        except NotFoundError:
            return None
        except OpenSearchException as exc:
            raise translate(exc, doing=f"reading the vector of video {video_id}") from exc
        if not response.get("found"):
            return None
        return np.asarray(response["_source"][VECTOR_FIELD], dtype=np.float32)

    def count(self) -> int:
        self._ensure()
        try:
            return int(self._client.count(index=self._index)["count"])
        except OpenSearchException as exc:
            raise translate(exc, doing=f"counting vectors in {self._index}") from exc
