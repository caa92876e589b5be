"""Shared pydantic base: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from milkmobs.domain.display import Displayable


class DomainModel(Displayable):
    """Every domain model serialises to camelCase JSON and accepts either spelling, and shows briefly
    in a REPL and as HTML in a notebook (``milkmobs.domain.display``)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        validate_assignment=False,
        extra="ignore",
    )

    def to_json_dict(self) -> dict[str, object]:
        """The camelCase JSON form (what the HTTP API and events carry)."""
        return self.model_dump(mode="json", by_alias=True)
