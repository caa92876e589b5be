"""``SQLiteClaimStore``: claims in the ``claims`` table of the local database (first insert wins)."""

from __future__ import annotations

import json

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.ports import Claim

_READ = "SELECT body FROM claims WHERE scope = ? AND key = ?"


class SQLiteClaimStore:
    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

    def claim(self, claim: Claim) -> Claim:
        with self._db.write() as conn:  # insert-if-absent and read back in one transaction
            conn.execute(
                "INSERT OR IGNORE INTO claims (scope, key, video_id, body) VALUES (?, ?, ?, ?)",
                (claim.scope, claim.key, claim.video_id, claim.model_dump_json()),
            )
            row = conn.execute(_READ, (claim.scope, claim.key)).fetchone()
        return Claim.model_validate(json.loads(row[0]))

    def get(self, scope: str, key: str) -> Claim | None:
        with self._db.read() as conn:
            row = conn.execute(_READ, (scope, key)).fetchone()
        return Claim.model_validate(json.loads(row[0])) if row else None

    def release(self, scope: str, key: str, *, video_id: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM claims WHERE scope = ? AND key = ? AND video_id = ?", (scope, key, video_id))
