"""EventBridge ``EventBus``: PutEvents in batches of 10, failed entries retried, then a typed error."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws.errors import common_translation, error_code, transport_error
from milkmobs.domain import DomainEvent
from milkmobs.domain.errors import BackendUnavailableError, ConfigurationError, MilkmobsError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

#: PutEvents accepts at most 10 entries per call.
BATCH_SIZE = 10
#: Sends of an entry EventBridge refused (HTTP 200 with ``FailedEntryCount``: botocore never sees it).
FAILED_ENTRY_ATTEMPTS = 4


def _translate(exc: ClientError, *, bus: str, doing: str) -> MilkmobsError:
    """The milkmobs error for an EventBridge ClientError."""
    if error_code(exc) == "ResourceNotFoundException":
        return ConfigurationError(f"{doing}: event bus '{bus}' does not exist; deploy the stack (it creates the bus)")
    return common_translation(exc, doing=f"{doing} (bus {bus})")


class EventBridgeEventBus:
    """Publishes domain events to one bus (source ``milk-mobs.analysis``, detail type per event).

    PutEvents is not all-or-nothing: it answers 200 with ``FailedEntryCount`` > 0 when some
    entries were throttled or failed internally. botocore cannot see those, so this adapter owns
    them: those entries (and only those) are sent again with backoff; whatever still fails after
    ``max_attempts`` raises BackendUnavailableError naming the videos, so the workflow step fails
    visibly instead of losing an event. A throttled or failed *call* is botocore's to retry.
    """

    def __init__(
        self,
        client: EventBridgeClient,
        bus_name: str,
        *,
        max_attempts: int = FAILED_ENTRY_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._bus = bus_name
        self._max_attempts = max_attempts
        self._sleep = sleep

    def _entry(self, event: DomainEvent) -> PutEventsRequestEntryTypeDef:
        return {
            "EventBusName": self._bus,
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": json.dumps(event.to_json_dict(), separators=(",", ":")),
            "Resources": [],
        }

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish every event, in order, in batches of at most 10."""
        entries = [(event.video_id, self._entry(event)) for event in events]
        for start in range(0, len(entries), BATCH_SIZE):
            self._publish_batch(entries[start : start + BATCH_SIZE])

    def _publish_batch(self, batch: list[tuple[str, PutEventsRequestEntryTypeDef]]) -> None:
        pending = batch
        failures: list[str] = []
        for attempt in range(self._max_attempts):
            if attempt:
                self._sleep(min(2.0, 0.1 * 2**attempt))
            doing = f"publishing {len(pending)} event(s) for {', '.join(v for v, _ in pending)}"
            try:
                response: dict[str, Any] = dict(self._client.put_events(Entries=[entry for _, entry in pending]))
            except ClientError as exc:
                raise _translate(exc, bus=self._bus, doing=doing) from exc
            except BotoCoreError as exc:
                raise transport_error(exc, doing=doing) from exc
            if not response.get("FailedEntryCount"):
                return
            # results are positional: entry i of the answer belongs to entry i of the request
            results: list[dict[str, Any]] = list(response.get("Entries", []))
            failed = [(item, r) for item, r in zip(pending, results, strict=False) if r.get("ErrorCode")]
            failures = [f"{v}: {r['ErrorCode']} {r.get('ErrorMessage', '')}".strip() for (v, _), r in failed]
            # a count without identifiable entries: resend them all rather than lose one
            pending = [item for item, _ in failed] or pending
        raise BackendUnavailableError(
            f"EventBridge bus {self._bus} refused {len(pending)} event(s) after {self._max_attempts} attempts "
            f"({'; '.join(failures)}); the events were not published",
            video_id=pending[0][0],
        )
