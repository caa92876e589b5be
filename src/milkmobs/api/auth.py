"""Admin authorisation, injected into the route table.

Locally a bearer token (``MILKMOBS_HTTP__ADMIN_TOKEN``); in AWS the claims the API Gateway authorizer
(a Cognito user pool) put in ``requestContext.authorizer``. Anonymous → 401, wrong → 403.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any, Protocol

from milkmobs.domain import ForbiddenError, UnauthorizedError
from milkmobs.settings import Backend, Settings

#: The Cognito user-pool group whose members may use the admin routes (the deploy creates it).
ADMIN_GROUP = "admins"


class AdminAuthorizer(Protocol):
    """Decides whether a request (the API Gateway REST proxy event) may use the admin routes."""

    def authorize(self, event: Mapping[str, Any]) -> None:
        """Return if allowed; UnauthorizedError without credentials, ForbiddenError with wrong ones."""
        ...


def _header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    for key, value in headers.items():
        if key.lower() == name and isinstance(value, str):
            return value
    return None


class BearerTokenAuthorizer:
    """``Authorization: Bearer <token>`` compared in constant time. ``token=None`` admits nobody."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None

    def authorize(self, event: Mapping[str, Any]) -> None:
        header = _header(event, "authorization")
        if not header:
            raise UnauthorizedError("admin routes need 'Authorization: Bearer <admin token>'")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise UnauthorizedError("the Authorization header must be 'Bearer <admin token>'")
        if self._token is None:
            raise ForbiddenError("admin access is disabled: no admin token is configured (MILKMOBS_HTTP__ADMIN_TOKEN)")
        if not hmac.compare_digest(presented.strip().encode(), self._token):
            raise ForbiddenError("the admin token is not valid")


def _groups(value: Any) -> set[str]:
    # API Gateway REST hands claims over as strings: "admins", "admins,editors" or "[admins editors]".
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    if isinstance(value, str):
        return {g for g in re.split(r"[\s,\[\]]+", value) if g}
    return set()


class CognitoGroupAuthorizer:
    """Admits callers whose Cognito user-pool claims include ``group`` in ``cognito:groups``."""

    def __init__(self, group: str = ADMIN_GROUP) -> None:
        self.group = group

    def authorize(self, event: Mapping[str, Any]) -> None:
        authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
        claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
        if not isinstance(claims, Mapping) or not claims:
            raise UnauthorizedError("admin routes need a signed-in user (no authorizer claims on the request)")
        if self.group not in _groups(claims.get("cognito:groups")):
            raise ForbiddenError(f"the user is not in the '{self.group}' group")


def authorizer_for(settings: Settings) -> AdminAuthorizer:
    """Cognito group claims behind API Gateway (the ``aws`` backend); the bearer token everywhere else."""
    if settings.backend == Backend.AWS:
        return CognitoGroupAuthorizer(ADMIN_GROUP)
    return BearerTokenAuthorizer(settings.http.admin_token)
