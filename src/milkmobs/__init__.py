"""milkmobs: a campaign feed and its communities ("mobs") from a stream of short videos.

The domain vocabulary (``Video``, ``Mob``, the errors, ...) and ``Settings`` are importable from
here. They load on first use (PEP 562), so importing one Lambda entry point under ``milkmobs``
does not pay for pydantic and numpy before the function needs them: that is cold-start time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_DOMAIN_NAMES = frozenset(
    {
        "ALLOWED_TRANSITIONS",
        "DEFAULT_PAGE_SIZE",
        "EVENT_BUS_NAME",
        "EVENT_SOURCE",
        "MAX_PAGE_SIZE",
        "TERMINAL_STATUSES",
        "AnalysisError",
        "BackendUnavailableError",
        "Campaign",
        "ConfigurationError",
        "ConflictError",
        "DomainEvent",
        "Embedding",
        "ExecutionRecord",
        "ExecutionStatus",
        "Failure",
        "ForbiddenError",
        "Highlight",
        "Insights",
        "InvalidInputError",
        "MediaError",
        "MediaInfo",
        "MilkmobsError",
        "Mob",
        "ModelType",
        "ModelUsage",
        "NotFoundError",
        "Page",
        "PayloadTooLargeError",
        "ScoreBreakdown",
        "ScoreWeights",
        "StartResult",
        "StepRecord",
        "StepStatus",
        "TransientAnalysisError",
        "UnauthorizedError",
        "UsageReport",
        "UsageTotals",
        "ValidationResult",
        "Vector",
        "Video",
        "VideoAnalyzed",
        "VideoStats",
        "VideoStatus",
        "as_vector",
        "check_transition",
        "l2_normalize",
        "normalize_hashtag",
        "normalize_hashtags",
    }
)
_SETTINGS_NAMES = frozenset({"Backend", "Settings"})

__all__ = sorted([*_DOMAIN_NAMES, *_SETTINGS_NAMES, "__version__"])

if TYPE_CHECKING:
    from milkmobs.domain import *  # noqa: F403
    from milkmobs.settings import Backend as Backend
    from milkmobs.settings import Settings as Settings


def __getattr__(name: str) -> Any:
    if name in _DOMAIN_NAMES:
        value = getattr(importlib.import_module("milkmobs.domain"), name)
    elif name in _SETTINGS_NAMES:
        value = getattr(importlib.import_module("milkmobs.settings"), name)
    else:
        raise AttributeError(f"module 'milkmobs' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
