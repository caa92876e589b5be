"""What every Lambda entry point shares: the application and the route table, built once per container,
and Powertools' Logger and Tracer around each handler.

Nothing of the application is built at import time (cold-start imports stay small, and tests can
install their own application first); the first invocation builds from the environment
(``MILKMOBS_*``) through the composition root, and later invocations in the same container reuse it.

Every handler is wrapped by :func:`lambda_handler`: structured JSON logs with the Lambda context and
a correlation id (API Gateway's request id, the video id of a Step Functions task — executions are
named by it —, the EventBridge event id, S3's request id, CloudFormation's request id), and an X-Ray
subsegment per invocation (Tracer is off outside Lambda).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    from milkmobs.core.service import MilkMobs
    from milkmobs.settings import Settings

logger = Logger()  # service: POWERTOOLS_SERVICE_NAME (the function's name, set by the stack)
tracer = Tracer()

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

_lock = threading.Lock()
_app: MilkMobs | None = None
_api: APIGatewayRestResolver | None = None
_settings: Settings | None = None


def settings() -> Settings:
    """The container's settings, read from the environment once."""
    global _settings
    if _settings is None:
        from milkmobs.settings import Settings

        _settings = Settings()
    return _settings


def app() -> MilkMobs:
    """The container's application (``milkmobs.bootstrap.build`` on first use)."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                from milkmobs.bootstrap import build

                _app = build(settings())
    return _app


def api() -> APIGatewayRestResolver:
    """The shared route table, with the authorizer the backend calls for (Cognito claims in AWS)."""
    global _api
    if _api is None:
        with _lock:
            if _api is None:
                from milkmobs.api.app import create_api
                from milkmobs.api.auth import authorizer_for

                current = settings()
                _api = create_api(app, authorizer=authorizer_for(current), cors_origins=current.http.cors_origins)
    return _api


def resolve_api(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Answer an API Gateway REST proxy event through the shared route table."""
    return api().resolve(event, context)


def run_step(name: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """Run the pipeline step ``name`` (a key of ``milkmobs.core.steps.STEP_HANDLERS``) on the state JSON.

    Errors propagate: Lambda reports their class name as ``errorType``, which the state machine's
    Retry/Catch rules match on.
    """
    from milkmobs.core.steps import STEP_HANDLERS

    result: dict[str, Any] = STEP_HANDLERS[name](app().context, dict(event))
    return result


def install(application: MilkMobs | None = None, *, settings_override: Settings | None = None) -> None:
    """Replace (or with no arguments, forget) the container's application — for tests and notebooks."""
    global _app, _api, _settings
    with _lock:
        _app, _api = application, None
        _settings = settings_override


def correlation_id(event: Mapping[str, Any]) -> str | None:
    """The id that ties this invocation's logs to its request, execution or event."""
    context = event.get("requestContext")
    if isinstance(context, Mapping) and context.get("requestId"):
        return str(context["requestId"])  # API Gateway
    if event.get("detail-type") and event.get("id"):
        return str(event["id"])  # EventBridge
    if event.get("RequestId"):
        return str(event["RequestId"])  # CloudFormation custom resource
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        request = (records[0].get("responseElements") or {}).get("x-amz-request-id")
        return str(request) if request else None  # S3 notification
    video_id = event.get("videoId")
    return str(video_id) if video_id else None  # a Step Functions task or an async invocation


def lambda_handler(handler: Handler) -> Handler:
    """Logger (Lambda context, correlation id, cold start) and Tracer around ``handler``.

    Called without a Lambda context (tests, scripts), the handler runs as it is.
    """
    injected = logger.inject_lambda_context(tracer.capture_lambda_handler(handler, capture_response=False))

    @functools.wraps(handler)
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if context is None:
            return handler(event, context)
        logger.set_correlation_id(correlation_id(event))
        result: dict[str, Any] = injected(event, context)
        return result

    return run
