"""opensearch-py's transport, waiting before it sends a refused request again.

opensearch-py owns OpenSearch's throttling (429), 5xx, timeouts and connection faults
(docs/architecture.md, "Retries"), but re-sends at once: against a domain that is throttling, its
tries would all land in the same moment. This transport waits before each re-send, in the shape of
botocore's standard mode (exponential, capped, full jitter), and changes nothing else.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from opensearchpy import Connection, Transport

#: The wait before re-send n (0-based) is at most ``min(RETRY_WAIT_BASE_SECONDS · 2^n, RETRY_WAIT_CAP_SECONDS)``.
RETRY_WAIT_BASE_SECONDS = 0.5
RETRY_WAIT_CAP_SECONDS = 4.0


def longest_retry_wait_seconds(retries: int) -> float:
    """The longest this transport waits over ``retries`` re-sends of one request."""
    return float(sum(min(RETRY_WAIT_BASE_SECONDS * 2.0**n, RETRY_WAIT_CAP_SECONDS) for n in range(retries)))


class BackoffTransport(Transport):
    """A ``Transport`` that backs off before each re-send of a request (``transport_class=``)."""

    #: Replaceable in tests (class attributes: opensearch-py builds the transport itself).
    sleep: ClassVar[Callable[[float], None]] = staticmethod(time.sleep)
    draw: ClassVar[Callable[[], float]] = staticmethod(random.random)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resends = threading.local()  # one client serves many threads, each its own request

    def perform_request(self, *args: Any, **kwargs: Any) -> Any:
        self._resends.count = 0
        return super().perform_request(*args, **kwargs)

    def mark_dead(self, connection: Connection) -> None:
        # opensearch-py calls this exactly when a try failed in a way it retries (the last one too)
        count = getattr(self._resends, "count", 0)
        self._resends.count = count + 1
        super().mark_dead(connection)
        if count < self.max_retries:
            type(self).sleep(type(self).draw() * min(RETRY_WAIT_BASE_SECONDS * 2**count, RETRY_WAIT_CAP_SECONDS))
