"""Claims: a (scope, key) pair that names one video, first writer wins.

Two rules of the core rest on it: an ``Idempotency-Key`` names the video its first submit created (a
retried submit answers that video), and a content hash names the first video a user uploaded those
bytes as (a second upload of them is recognised). Each backend keeps claims next to its video records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from milkmobs.domain.base import DomainModel


class Claim(DomainModel):
    scope: str
    key: str
    fingerprint: str  # what the claim was made for (a request's hash): a reuse for anything else is refused
    video_id: str
    created_at: datetime


class ClaimStore(Protocol):
    def claim(self, claim: Claim) -> Claim:
        """Store ``claim`` unless its (scope, key) is taken; returns the stored claim — ``claim`` itself,
        or the earlier one (atomic: of two concurrent claims exactly one wins)."""
        ...

    def get(self, scope: str, key: str) -> Claim | None: ...

    def release(self, scope: str, key: str, *, video_id: str) -> None:
        """Remove the claim if it still names ``video_id`` (a claim taken over since stays)."""
        ...
