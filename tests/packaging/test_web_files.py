"""The wheel carries the web pages it serves, and only them (no type declarations, no Node tools)."""

from __future__ import annotations

import zipfile

from tests.packaging.conftest import REPO, Built

SERVED = (".html", ".js", ".css", ".svg")


def test_the_wheel_carries_every_served_web_file_and_nothing_else(built: Built) -> None:
    web = REPO / "src" / "milkmobs" / "web"
    expected = {f"milkmobs/web/{p.relative_to(web).as_posix()}" for p in web.rglob("*") if p.suffix in SERVED}
    expected = {name for name in expected if not name.endswith(".d.ts")}
    with zipfile.ZipFile(built.wheel) as wheel:
        shipped = {name for name in wheel.namelist() if name.startswith("milkmobs/web/")}
    assert "milkmobs/web/index.html" in expected and "milkmobs/web/shared/api.js" in expected
    assert shipped == expected, (sorted(expected - shipped), sorted(shipped - expected))
    assert not any("node_modules" in name or name.endswith(".d.ts") for name in shipped)
