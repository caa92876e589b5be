"""Which optional extra each backend needs, checked when the backend is chosen rather than at first use.

Import names, not distribution names: what is checked is what the adapters import. A test keeps
these lists in step with the extras ``pyproject.toml`` declares.
"""

from __future__ import annotations

import importlib.util

from milkmobs.domain.errors import ConfigurationError
from milkmobs.settings import Backend

#: Modules each extra provides (its distributions' import names).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "media": ("imageio_ffmpeg", "av", "rapidocr", "onnxruntime", "PIL", "pocketsphinx"),
    "aws": ("boto3", "botocore", "opensearchpy", "requests"),
}

#: The extra each backend's adapters import (the memory backend needs only the core install).
BACKEND_EXTRAS: dict[Backend, str] = {Backend.LOCAL: "media", Backend.AWS: "aws"}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (none: the extra is installed)."""
    return [name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None]


def require_extra(extra: str, *, needed_by: str) -> None:
    """ConfigurationError, one line naming the extra to install, unless ``extra`` is installed."""
    missing = missing_modules(extra)
    if missing:
        raise ConfigurationError(
            f"{needed_by} needs the {extra} extra (missing: {', '.join(missing)}); "
            f"install it with: pip install 'milkmobs[{extra}]'"
        )


def require_backend_extra(backend: Backend | str) -> None:
    """Fail now, naming the extra, when ``backend``'s adapters could not be imported."""
    chosen = Backend(backend)
    extra = BACKEND_EXTRAS.get(chosen)
    if extra is not None:
        require_extra(extra, needed_by=f"the {chosen.value} backend")
