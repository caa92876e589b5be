"""OpenSearch k-NN ``_score`` → cosine similarity, per engine and space.

OpenSearch's score is a per-space transform of a distance (the "Spaces" documentation table),
not a cosine; thresholds and "similar videos" scores need the cosine back.
"""

from __future__ import annotations

from milkmobs.domain.errors import ConfigurationError

#: Spaces each supported engine offers for HNSW (OpenSearch "Methods and engines"; faiss
#: ``cosinesimil`` needs OpenSearch 2.19 or later).
SUPPORTED_SPACES = {
    "faiss": frozenset({"innerproduct", "l2", "cosinesimil"}),
    "lucene": frozenset({"innerproduct", "l2", "cosinesimil"}),
}


def cosine_from_score(score: float, *, engine: str, space: str) -> float:
    """The cosine similarity behind an OpenSearch k-NN ``_score`` (unit vectors for l2/innerproduct).

    From the OpenSearch "Spaces" table: ``cosinesimil`` scores ``(2 - d) / 2`` with
    ``d = 1 - cos``; ``innerproduct`` scores ``dot + 1`` when ``dot > 0`` and ``1 / (1 - dot)``
    otherwise (faiss and lucene alike); ``l2`` scores ``1 / (1 + d)`` with ``d`` the squared
    distance, ``= 2 - 2 cos`` for unit vectors.
    """
    if engine not in SUPPORTED_SPACES or space not in SUPPORTED_SPACES[engine]:
        raise ConfigurationError(f"no score conversion for engine {engine!r} and space {space!r}")
    if space == "cosinesimil":
        cosine = 2.0 * score - 1.0
    elif space == "innerproduct":
        cosine = score - 1.0 if score > 1.0 else 1.0 - 1.0 / score
    else:
        squared_distance = 1.0 / score - 1.0
        cosine = 1.0 - squared_distance / 2.0
    return float(min(1.0, max(-1.0, cosine)))
