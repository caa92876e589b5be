"""Nearest-neighbour search over video embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from milkmobs.domain import Vector


@dataclass(frozen=True)
class IndexedVector:
    """A vector with the metadata searches filter on."""

    video_id: str
    vector: Vector
    status: str
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
        status: str | None = None,
        exclude_video_id: str | None = None,
    ) -> list[VectorHit]:
        """At most ``k`` hits, best first, matching the filters, never ``exclude_video_id``."""
        ...

    def get_vector(self, video_id: str) -> Vector | None: ...

    def count(self) -> int: ...
