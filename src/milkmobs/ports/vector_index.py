"""Nearest-neighbour search over video embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from milkmobs.domain import InvalidInputError, Vector, VideoStatus, as_vector


@dataclass(frozen=True)
class IndexedVector:
    """A vector with the metadata searches filter on."""

    video_id: str
    vector: Vector
    status: VideoStatus
    mob_id: str | None = None


@dataclass(frozen=True)
class VectorHit:
    """``score`` is the true cosine similarity in [-1, 1]."""

    video_id: str
    score: float


class VectorIndex(Protocol):
    """k-NN over unit vectors of one fixed dimension (InvalidInputError on any other size)."""

    @property
    def dimension(self) -> int: ...

    def upsert(self, item: IndexedVector) -> None: ...

    def upsert_many(self, items: Sequence[IndexedVector]) -> None: ...

    def delete(self, video_id: str) -> bool:
        """True if something was removed."""
        ...

    def search(
        self,
        vector: Vector,
        *,
        k: int,
        mob_id: str | None = None,
        status: VideoStatus | None = None,
        exclude_video_id: str | None = None,
    ) -> list[VectorHit]:
        """At most ``k`` hits, best first, matching the filters, never ``exclude_video_id``."""
        ...

    def get_vector(self, video_id: str) -> Vector | None: ...

    def count(self) -> int: ...


# --- the port's input rules: every adapter checks vectors and queries with these, and only these ---
FloatMatrix = npt.NDArray[np.float32]


def checked_vectors(items: Sequence[IndexedVector], dimension: int) -> FloatMatrix:
    """The items' vectors as one ``(len(items), dimension)`` float32 matrix, before anything is written;
    InvalidInputError naming the first bad video (wrong size, NaN or infinite, zero)."""
    rows: list[Vector] = []
    for item in items:
        vector = item.vector
        if not (isinstance(vector, np.ndarray) and vector.dtype == np.float32 and vector.shape == (dimension,)):
            try:
                vector = as_vector(vector, dimension=dimension, field="embedding")
            except InvalidInputError as exc:
                raise InvalidInputError(f"embedding of video {item.video_id}: {exc}", field="embedding") from exc
        rows.append(vector)
    matrix: FloatMatrix = np.stack(rows) if rows else np.empty((0, dimension), dtype=np.float32)
    finite: npt.NDArray[np.bool_] = np.asarray(np.isfinite(matrix).all(axis=1), dtype=bool)
    nonzero: npt.NDArray[np.bool_] = np.asarray((matrix != 0).any(axis=1), dtype=bool)
    for i in np.flatnonzero(~(finite & nonzero))[:1]:
        problem = "contains NaN or infinite values" if not finite[i] else "is a zero vector"
        raise InvalidInputError(
            f"embedding of video {items[int(i)].video_id} {problem}; nothing was written", field="embedding"
        )
    return matrix


def unit_queries(queries: npt.ArrayLike, *, k: int, dimension: int) -> FloatMatrix:
    """Query rows ``(q, dimension)`` scaled to unit length; InvalidInputError on a bad ``k``, shape or vector."""
    if k < 1:
        raise InvalidInputError(f"k must be at least 1, got {k}", field="k")
    try:
        matrix = np.asarray(queries, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("the query is not a numeric vector", field="embedding") from exc
    if matrix.ndim != 2 or matrix.shape[1] != dimension:
        raise InvalidInputError(
            f"query vectors have shape {matrix.shape}, expected (q, {dimension})", field="embedding"
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.all(np.isfinite(matrix)) or np.any(norms == 0):
        raise InvalidInputError("cannot search with a zero or non-finite vector", field="embedding")
    unit: FloatMatrix = (matrix / norms).astype(np.float32)
    return unit


def unit_query(vector: npt.ArrayLike, *, k: int, dimension: int) -> Vector:
    """One query vector scaled to unit length, checked as :func:`unit_queries` checks each row."""
    if np.ndim(vector) != 1:
        raise InvalidInputError(
            f"the query vector has shape {np.shape(vector)}, expected ({dimension},)", field="embedding"
        )
    query: Vector = unit_queries(np.reshape(vector, (1, -1)), k=k, dimension=dimension)[0]
    return query


@runtime_checkable
class ListableVectorIndex(Protocol):
    """An index that can name every video it holds: the in-process backends' indexes, whose rows
    their start-up recovery compares with the records (the OpenSearch one is repaired by the
    batch run, which rewrites every row)."""

    def video_ids(self) -> set[str]:
        """The ids of every video with a row."""
        ...
