"""opensearch-py's transport owns OpenSearch's throttling: its tries, then one BackendUnavailableError."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from milkmobs.adapters.aws.factory_models import OPENSEARCH_MAX_RETRIES, opensearch_client
from milkmobs.adapters.aws.opensearch import OpenSearchVectorIndex
from milkmobs.adapters.aws.opensearch.transport import BackoffTransport, longest_retry_wait_seconds
from milkmobs.domain import BackendUnavailableError
from milkmobs.settings import Settings


class _Throttling(BaseHTTPRequestHandler):
    """Answers every request 429, as a domain over its search or indexing rate does."""

    requests: ClassVar[list[str]] = []

    def _answer(self) -> None:
        type(self).requests.append(f"{self.command} {self.path}")
        body = b'{"error":{"type":"es_rejected_execution_exception","reason":"rejected"},"status":429}'
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def throttling_domain() -> Iterator[str]:
    _Throttling.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_throttled_request_is_tried_by_the_transport_only_with_waits_between(
    throttling_domain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(BackoffTransport, "sleep", staticmethod(waits.append))
    monkeypatch.setattr(BackoffTransport, "draw", staticmethod(lambda: 1.0))  # every wait at its ceiling
    client = opensearch_client(Settings(opensearch={"endpoint": throttling_domain, "auth": "none"}))
    index = OpenSearchVectorIndex(client, index_name="video-embeddings", dimension=4, create_if_missing=False)

    with pytest.raises(BackendUnavailableError, match="429") as caught:
        index.delete("vid_1")

    assert len(_Throttling.requests) == 1 + OPENSEARCH_MAX_RETRIES == 3, _Throttling.requests
    assert "retry later" in caught.value.message
    # a wait before each re-send, none after the last try
    assert len(waits) == OPENSEARCH_MAX_RETRIES and waits[0] < waits[1]
    assert sum(waits) == longest_retry_wait_seconds(OPENSEARCH_MAX_RETRIES)
