"""milkmobs: a campaign feed and its communities ("mobs") from a stream of short videos."""

from milkmobs.domain import *  # noqa: F403  (the domain is the public vocabulary)
from milkmobs.domain import __all__ as _domain_all
from milkmobs.settings import Backend, Settings

__version__ = "0.1.0"

__all__ = [*_domain_all, "Backend", "Settings", "__version__"]
