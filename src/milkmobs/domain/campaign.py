"""A campaign's validation rules. Defaults reproduce the original "Got Milk" campaign."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import Field, model_validator

from milkmobs.domain.base import DomainModel


class ScoreWeights(DomainModel):
    """Weights of the four sub-scores; they must sum to 1."""

    visual: float = Field(ge=0)
    audio: float = Field(ge=0)
    ocr: float = Field(ge=0)
    hashtags: float = Field(ge=0)

    @model_validator(mode="after")
    def _sums_to_one(self) -> ScoreWeights:
        total = self.visual + self.audio + self.ocr + self.hashtags
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {total}")
        return self


class Campaign(DomainModel):
    """What a video must show, say and carry to take part in the campaign."""

    name: str = "Got Milk"
    product: str = "milk"
    action: str = "drinking milk"
    keywords: list[str] = Field(default_factory=lambda: ["got milk", "milk", "milkmob"])
    tags: list[str] = Field(default_factory=lambda: ["gotmilk", "milkmob", "milk"])
    weights: ScoreWeights = Field(default_factory=lambda: ScoreWeights(visual=0.4, audio=0.3, ocr=0.2, hashtags=0.1))
    weights_without_audio: ScoreWeights = Field(
        default_factory=lambda: ScoreWeights(visual=0.5, audio=0.0, ocr=0.3, hashtags=0.2)
    )
    pass_threshold: float = Field(default=0.7, ge=0.0, le=1.0)


# --- matching campaign words in text: one rule for the validation score and every analyzer ------
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def fold_text(text: str) -> str:
    """Lower-case and keep letters and digits only ("#Got Milk?" → "gotmilk"): OCR and creators
    drop or add spaces and punctuation ("#milkmob challenge" / "#milkmobchallenge")."""
    return _NOT_ALNUM.sub("", text.lower())


def first_mention(needles: Iterable[str], texts: Sequence[str]) -> str | None:
    """The first needle whose folded form occurs inside one of the folded ``texts``, else None."""
    folded = [fold_text(t) for t in texts]
    for needle in needles:
        key = fold_text(needle)
        if key and any(key in text for text in folded):
            return needle
    return None
