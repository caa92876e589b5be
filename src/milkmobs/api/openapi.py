"""The committed OpenAPI document (``docs/openapi.json``), generated from the routes.

Regenerate after changing a route or a model::

    python -m milkmobs.api.openapi docs/openapi.json

``tests/handlers/test_openapi.py`` fails when the file and the code disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from milkmobs.api.app import create_api, openapi_document
from milkmobs.api.auth import BearerTokenAuthorizer
from milkmobs.core.service import MilkMobs


def _no_app() -> MilkMobs:
    raise RuntimeError("the OpenAPI document is generated without an application")


def generate() -> dict[str, Any]:
    """The document the route table describes (no application or backend needed)."""
    return openapi_document(create_api(_no_app, authorizer=BearerTokenAuthorizer(None)))


def render() -> str:
    """The document as committed: 2-space indented JSON with a final newline."""
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        Path(args[0]).write_text(render(), encoding="utf-8")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
