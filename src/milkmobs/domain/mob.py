"""A mob: a community of similar validated videos."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import numpy as np
from pydantic import ConfigDict, Field, field_serializer, field_validator

from milkmobs.domain.base import DomainModel
from milkmobs.domain.embedding import Vector, as_vector


class Mob(DomainModel):
    """``centroid`` is a unit vector; ``version`` guards concurrent centroid updates."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    repr_fields: ClassVar[tuple[str, ...]] = ("mob_id", "name", "video_count", "example_hashtags")

    mob_id: str
    name: str
    description: str = ""
    centroid: Vector = Field(exclude=True)
    video_count: int = Field(default=0, ge=0)
    example_hashtags: list[str] = Field(default_factory=list)
    version: int = Field(default=0, ge=0)
    created_at: datetime
    updated_at: datetime

    @field_validator("centroid", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Vector:
        return as_vector(value, field="centroid")

    @field_serializer("centroid")
    def _serialise(self, vector: Vector) -> list[float]:
        return [float(x) for x in vector]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mob):
            return NotImplemented
        mine = self.model_dump(exclude={"centroid"})
        theirs = other.model_dump(exclude={"centroid"})
        return mine == theirs and bool(np.array_equal(self.centroid, other.centroid))

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def founded(
        cls,
        mob_id: str,
        *,
        name: str,
        description: str,
        centroid: Vector,
        members: int,
        example_hashtags: list[str],
        at: datetime,
    ) -> Mob:
        """A new mob of ``members`` videos whose mean direction is ``centroid``: founded by one video
        (incremental clustering) or formed by a re-clustering; the one way a mob comes to be."""
        return cls(
            mob_id=mob_id,
            name=name,
            description=description,
            centroid=centroid,
            video_count=members,
            example_hashtags=example_hashtags,
            created_at=at,
            updated_at=at,
        )

    # --- state changes, named for what they do (each returns a new record) ------------------------
    def with_members(self, count: int, centroid: Vector, *, at: datetime | None = None) -> Mob:
        """``count`` members whose mean direction is ``centroid`` (a join, a leave or a recount)."""
        update: dict[str, object] = {"video_count": max(0, count), "centroid": centroid}
        if at is not None:
            update["updated_at"] = at
        return self.model_copy(update=update)

    def regrouped(
        self, *, name: str, description: str, centroid: Vector, count: int, example_hashtags: list[str], at: datetime
    ) -> Mob:
        """The same mob id given a re-clustered group: its members, centroid and the names they suggest."""
        return self.model_copy(
            update={
                "name": name,
                "description": description,
                "centroid": centroid,
                "video_count": count,
                "example_hashtags": example_hashtags,
                "updated_at": at,
            }
        )

    def counted(self, delta: int) -> Mob:
        """The member count moved by ``delta`` (never below zero)."""
        return self.model_copy(update={"video_count": max(0, self.video_count + delta)})

    def stored_as(self, version: int) -> Mob:
        """The record as a store keeps it, at ``version``."""
        return self.model_copy(update={"version": version})
