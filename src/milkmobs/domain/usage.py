"""Model usage: what each Bedrock (or stand-in) call cost."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from milkmobs.domain.base import DomainModel


class ModelType(StrEnum):
    PEGASUS = "pegasus"
    MARENGO = "marengo"


class ModelUsage(DomainModel):
    """One model invocation."""

    model_id: str
    model_type: ModelType
    invocations: int = Field(default=1, ge=0)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    video_seconds: float = Field(default=0.0, ge=0)
    at: datetime | None = None


class UsageTotals(DomainModel):
    """Usage of one model over a time range, with the estimated cost."""

    model_id: str
    model_type: ModelType
    invocations: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    video_seconds: float = 0.0
    estimated_cost_usd: float = 0.0


class UsageReport(DomainModel):
    range: str
    start: datetime
    end: datetime
    models: list[UsageTotals] = Field(default_factory=list)
    total_estimated_cost_usd: float = 0.0
