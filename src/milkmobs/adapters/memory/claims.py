"""``InMemoryClaimStore``: claims in a dict, under a lock."""

from __future__ import annotations

import threading

from milkmobs.ports import Claim


class InMemoryClaimStore:
    def __init__(self) -> None:
        self._claims: dict[tuple[str, str], Claim] = {}
        self._lock = threading.Lock()

    def claim(self, claim: Claim) -> Claim:
        with self._lock:
            return self._claims.setdefault((claim.scope, claim.key), claim)

    def get(self, scope: str, key: str) -> Claim | None:
        with self._lock:
            return self._claims.get((scope, key))

    def release(self, scope: str, key: str, *, video_id: str) -> None:
        with self._lock:
            held = self._claims.get((scope, key))
            if held is not None and held.video_id == video_id:
                del self._claims[(scope, key)]
