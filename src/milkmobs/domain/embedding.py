"""Embeddings: float32 vectors with a known model and a checked dimension."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ConfigDict, field_serializer, field_validator

from milkmobs.domain.base import DomainModel
from milkmobs.domain.errors import InvalidInputError

Vector = npt.NDArray[np.float32]


def as_vector(values: Any, *, dimension: int | None = None, field: str = "embedding") -> Vector:
    """A 1-D float32 copy of ``values``; InvalidInputError if not finite or of the wrong size."""
    try:
        arr = (
            np.asarray(values, dtype=np.float32).reshape(-1)
            if not isinstance(values, bytes)
            else (np.frombuffer(values, dtype="<f4").astype(np.float32))
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{field} is not a numeric vector", field=field) from exc
    if arr.size == 0:
        raise InvalidInputError(f"{field} is empty", field=field)
    if dimension is not None and arr.size != dimension:
        raise InvalidInputError(f"{field} has dimension {arr.size}, expected {dimension}", field=field)
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"{field} contains NaN or infinite values", field=field)
    return arr


def l2_normalize(vector: Vector) -> Vector:
    """Unit-length copy; a zero vector is refused rather than divided by zero."""
    norm = float(np.linalg.norm(vector))
    if norm == 0.0 or not np.isfinite(norm):
        raise InvalidInputError("cannot normalise a zero vector", field="embedding")
    return (vector / norm).astype(np.float32)


class Embedding(DomainModel):
    """A float32 embedding produced by ``model_id``; stored unit-length."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    vector: Vector
    model_id: str

    @field_validator("vector", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Vector:
        return as_vector(value)

    @field_serializer("vector")
    def _serialise(self, vector: Vector) -> list[float]:
        return [float(x) for x in vector]

    @property
    def dimension(self) -> int:
        return int(self.vector.shape[0])

    @classmethod
    def create(cls, vector: Any, *, model_id: str, dimension: int | None = None, normalize: bool = True) -> Embedding:
        """Check the dimension, L2-normalise, and wrap."""
        arr = as_vector(vector, dimension=dimension)
        return cls(vector=l2_normalize(arr) if normalize else arr, model_id=model_id)

    def to_bytes(self) -> bytes:
        """Compact little-endian float32 bytes (what stores persist)."""
        return self.vector.astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, *, model_id: str) -> Embedding:
        return cls(vector=np.frombuffer(data, dtype="<f4").astype(np.float32), model_id=model_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Embedding):
            return NotImplemented
        return self.model_id == other.model_id and bool(np.array_equal(self.vector, other.vector))

    __hash__ = None  # type: ignore[assignment]

    def check_dimension(self, dimension: int) -> None:
        if self.dimension != dimension:
            raise InvalidInputError(
                f"embedding has dimension {self.dimension}, expected {dimension}", field="embedding"
            )
