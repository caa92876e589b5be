"""Realistic Lambda events (API Gateway REST proxy, S3, EventBridge schedule, CloudFormation) and a
memory-backed application installed as the Lambda container's application."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest

from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.lambdas import _runtime
from milkmobs.settings import Settings

ADMIN_TOKEN = "test-admin-token"
MILK_BYTES = b"\x00\x00\x00\x18ftypmp42 GOT MILK drinking milk #gotmilk " + bytes(range(256)) * 8


@dataclass
class LambdaContext:
    """The attributes handlers and Powertools read from the real context."""

    function_name: str = "milkmobs-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:milkmobs-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/milkmobs-test"
    log_stream_name: str = "2026/11/26/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def settings() -> Settings:
    return Settings(backend="memory", http={"admin_token": ADMIN_TOKEN, "public_base_url": "http://testserver"})


@pytest.fixture
def app(settings: Settings) -> Iterator[MilkMobs]:
    """A fresh memory application, installed as the container's (what a cold start would build)."""
    application = build(settings, retry_interval_scale=0, wait_scale=0)
    _runtime.install(application, settings_override=settings)
    try:
        yield application
    finally:
        _runtime.install(None)
        application.close()


def api_event(
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    claims: Mapping[str, str] | None = None,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event as the real integration sends it (stage ``prod``)."""
    all_headers = {"Accept": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "httpMethod": method,
        "path": f"/prod{path}",
        "protocol": "HTTP/1.1",
        "requestId": str(uuid.uuid4()),
        "requestTimeEpoch": 1764115200000,
        "resourcePath": resource or path,
        "stage": "prod",
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
    }
    if claims is not None:
        context["authorizer"] = {"claims": dict(claims), "principalId": claims.get("sub", "user")}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": context,
        "body": json.dumps(body) if body is not None and not isinstance(body, str) else body,
        "isBase64Encoded": False,
    }


def admin_headers(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def body_of(response: Mapping[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def s3_event(*keys: str, sizes: Mapping[str, int] | None = None, bucket: str = "milkmobs-media") -> dict[str, Any]:
    """An S3 ObjectCreated notification batch; keys are URL-encoded as S3 sends them."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-26T00:00:00.000Z",
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": quote(key, safe="/").replace("%20", "+"),
                        "size": (sizes or {}).get(key, 1024),
                        "eTag": "0123456789abcdef",
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
            for key in keys
        ]
    }


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-26T01:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/milkmobs-hourly-clustering"],
        "detail": {},
    }


def custom_resource_event(request_type: str, physical_id: str | None = None) -> dict[str, Any]:
    """What the CDK Provider framework hands its onEvent handler."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider-framework-onEvent",
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/milkmobs/guid",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "VectorIndex",
        "ResourceType": "Custom::OpenSearchIndex",
        "ResourceProperties": {"ServiceToken": "arn:...", "IndexName": "milkmobs-videos"},
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event
