"""Step Functions' error vocabulary and its translation to and from the core's.

The core names errors by exception class (``RetryPolicy.errors``, ``Catch.errors``) and hands the
catch ``{"name", "message"}``; Step Functions matches ``ErrorEquals`` names and hands a catch
``{"Error", "Cause"}``. This module is the one place that maps between the two: ``deploy/`` uses it to
write the state machine, the ``analysis-mark-failed`` Lambda to read what the catch passed.
Kept free of heavy imports: a Lambda entry point reads it at start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from milkmobs.core.workflow_model import StepTimeout

#: What Step Functions calls a state that ran past its ``TimeoutSeconds`` (the core's ``StepTimeout``).
TIMEOUT_ERROR = "States.Timeout"
#: Matches every error (the core's ``Exception`` in a catch).
ALL_ERRORS = "States.ALL"
#: The Lambda service's own transient faults: a policy's ``runner_faults`` on a Lambda task.
LAMBDA_SERVICE_ERRORS: tuple[str, ...] = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
#: EventBridge's own faults: a policy's ``runner_faults`` on the PutEvents integration (a refused entry,
#: HTTP 200 with ``FailedEntryCount``, is reported as ``EventBridge.FailedEntry``).
EVENTBRIDGE_SERVICE_ERRORS: tuple[str, ...] = ("EventBridge.EventBridgeException", "EventBridge.FailedEntry")

_CORE_NAMES = {TIMEOUT_ERROR: StepTimeout.__name__}


def error_names(errors: tuple[type[BaseException], ...], *, runner_faults: tuple[str, ...] = ()) -> list[str]:
    """``ErrorEquals`` for exception classes (``Exception`` → ``States.ALL``; ``StepTimeout`` →
    ``States.Timeout``; any other class → its name, which Lambda reports as ``errorType``)."""
    if any(error is Exception or error is BaseException for error in errors):
        return [ALL_ERRORS]
    names = [TIMEOUT_ERROR if issubclass(error, StepTimeout) else error.__name__ for error in errors]
    return [*names, *runner_faults]


def caught_error(error: Any) -> dict[str, str]:
    """Step Functions' catch output ``{"Error", "Cause"}`` as the core's ``{"name", "message"}``; a
    Lambda error's Cause is a JSON document whose ``errorMessage`` is the readable part."""
    if not isinstance(error, Mapping):
        return {"name": "", "message": str(error) if error else "unknown error"}
    name = str(error.get("Error") or "")
    cause = error.get("Cause")
    message = str(cause) if cause is not None else ""
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            document = json.loads(cause)
        except ValueError:
            document = None
        if isinstance(document, Mapping) and document.get("errorMessage"):
            message = str(document["errorMessage"])
    return {"name": _CORE_NAMES.get(name, name), "message": message or name or "unknown error"}
