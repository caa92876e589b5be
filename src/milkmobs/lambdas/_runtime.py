"""What every Lambda entry point shares: the application and the route table, built once per container.

Nothing is built at import time (cold-start imports stay small, and tests can install their own
application first); the first invocation builds from the environment (``MILKMOBS_*``) through the
composition root, and later invocations in the same container reuse it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    from milkmobs.core.service import MilkMobs
    from milkmobs.settings import Settings

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
                _api = create_api(app, authorizer=authorizer_for(current), cors_origins=current.cors_origins)
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
