"""``SQLiteEventLog``: the local event bus is an append-only event log table.

Nothing subscribes in-process; the log is what ``milkmobs`` tools and tests read back, in order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from milkmobs.adapters.local.sqlite_db import SQLiteDatabase, to_micros
from milkmobs.domain import EVENT_BUS_NAME, DomainEvent, VideoAnalyzed
from milkmobs.ports import Clock
from milkmobs.ports.events import dedupe_key

_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class LoggedEvent:
    """One published event as the log keeps it (``detail`` is the camelCase JSON body)."""

    seq: int
    event_bus: str
    source: str
    detail_type: str
    detail: dict[str, object]
    published_at: datetime

    def as_event(self) -> DomainEvent:
        """The domain event back (only ``VideoAnalyzed`` exists today)."""
        return VideoAnalyzed.model_validate(self.detail)


class SQLiteEventLog:
    """EventBus that appends every published event to the ``events`` table in one transaction.
    An event already logged (same detail type and video: ``dedupe_key``) is not logged again."""

    def __init__(self, db: SQLiteDatabase, *, clock: Clock, bus_name: str = EVENT_BUS_NAME) -> None:
        self._db = db
        self._clock = clock
        self._bus_name = bus_name

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        now = to_micros(self._clock.now())
        rows = [
            (self._bus_name, event.source, event.detail_type, json.dumps(event.to_json_dict()), now, dedupe_key(event))
            for event in events
        ]
        with self._db.write() as conn:  # all or nothing; OR IGNORE: the dedupe key's unique index
            conn.executemany(
                "INSERT OR IGNORE INTO events (event_bus, source, detail_type, detail, published_us, dedupe_key)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def read(self, *, after_seq: int = 0, limit: int = 1000) -> list[LoggedEvent]:
        """Events with ``seq > after_seq``, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT seq, event_bus, source, detail_type, detail, published_us FROM events"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [
            LoggedEvent(
                seq=int(seq),
                event_bus=str(bus),
                source=str(source),
                detail_type=str(detail_type),
                detail=json.loads(detail),
                published_at=_EPOCH + timedelta(microseconds=int(us)),
            )
            for seq, bus, source, detail_type, detail, us in rows
        ]

    def published(self) -> list[DomainEvent]:
        """Every event published so far, oldest first."""
        events: list[DomainEvent] = []
        after = 0
        while batch := self.read(after_seq=after):
            events.extend(item.as_event() for item in batch)
            after = batch[-1].seq
        return events
