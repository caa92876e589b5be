"""milkmobs: a campaign feed and its communities ("mobs") from a stream of short videos.

The domain vocabulary (``Video``, ``Mob``, the errors, ...) and ``Settings`` are importable from
here. They load on first use (PEP 562), so importing one Lambda entry point under ``milkmobs``
does not pay for pydantic and numpy before the function needs them: that is cold-start time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_SETTINGS_NAMES = frozenset({"Backend", "Settings"})

if TYPE_CHECKING:
    from milkmobs.domain import *  # noqa: F403
    from milkmobs.settings import Backend as Backend
    from milkmobs.settings import Settings as Settings


def _domain_names() -> frozenset[str]:
    return frozenset(importlib.import_module("milkmobs.domain").__all__)


def __getattr__(name: str) -> Any:
    # ``from milkmobs import *`` asks for __all__ here too: it is the domain's list plus Settings.
    if name == "__all__":
        value: Any = sorted([*_domain_names(), *_SETTINGS_NAMES, "__version__"])
    elif name in _SETTINGS_NAMES:
        value = getattr(importlib.import_module("milkmobs.settings"), name)
    elif name in _domain_names():
        value = getattr(importlib.import_module("milkmobs.domain"), name)
    else:
        raise AttributeError(f"module 'milkmobs' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_domain_names(), *_SETTINGS_NAMES})
