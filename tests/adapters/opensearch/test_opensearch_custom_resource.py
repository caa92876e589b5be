"""The create-opensearch-index custom resource on the real AWS composition (moto + the OpenSearch test double)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("moto")
from moto import mock_aws
from tests.handlers.conftest import LambdaContext
from tests.opensearch_double import OpenSearchTestDouble

from milkmobs.bootstrap import build
from milkmobs.lambdas import _runtime, create_opensearch_index
from milkmobs.settings import Backend, Settings


def event(request_type: str, physical_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ResourceType": "Custom::OpenSearchIndex",
        "LogicalResourceId": "VectorIndex",
        "ResourceProperties": {},
    }
    if physical_id:
        body["PhysicalResourceId"] = physical_id
    return body


@pytest.fixture
def double(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenSearchTestDouble]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws(), OpenSearchTestDouble() as server:
        settings = Settings(
            backend=Backend.AWS,
            opensearch={"endpoint": server.url, "auth": "none", "index_prefix": "stack-a-"},
            aws={"media_bucket_owner": "123456789012", "cursor_secret": "custom-resource-cursor-secret"},
        )
        application = build(settings)
        _runtime.install(application, settings_override=settings)
        try:
            yield server
        finally:
            _runtime.install()
            application.close()


def test_create_makes_the_index_once_and_delete_keeps_it(double: OpenSearchTestDouble) -> None:
    created = create_opensearch_index.handler(event("Create"), LambdaContext())
    assert created["Data"] == {"IndexName": "stack-a-video-embeddings", "Dimension": "512", "Created": "true"}
    updated = create_opensearch_index.handler(event("Update", created["PhysicalResourceId"]), LambdaContext())
    assert updated["Data"]["Created"] == "false"
    create_opensearch_index.handler(event("Delete", created["PhysicalResourceId"]), LambdaContext())

    puts = [r for r in double.requests if r.method == "PUT" and r.path == "/stack-a-video-embeddings"]
    assert len(puts) == 1
    mapping = puts[0].body["mappings"]["properties"]["embedding"]
    assert mapping["dimension"] == 512 and mapping["method"]["engine"] == "faiss"
    assert not [r for r in double.requests if r.method == "DELETE"]
