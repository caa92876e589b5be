"""The core changes records only through the domain's named methods, and a mob comes to be only
through ``Mob.founded`` (founding by one video and re-clustering alike)."""

from __future__ import annotations

import ast
from pathlib import Path

import milkmobs.core

CORE = Path(milkmobs.core.__file__).parent


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _core_modules() -> list[tuple[str, ast.Module]]:
    modules = [(path.name, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(CORE.rglob("*.py"))]
    assert len(modules) > 10, "the core's modules were found"
    return modules


def test_the_core_never_copies_a_record_by_field_names() -> None:
    found = [
        f"{name}:{call.lineno}"
        for name, tree in _core_modules()
        for call in _calls(tree)
        if isinstance(call.func, ast.Attribute) and call.func.attr == "model_copy"
    ]
    assert found == [], "use (or add) a named state change on the domain model instead"


def test_the_core_builds_a_mob_only_with_mob_founded() -> None:
    found = [
        f"{name}:{call.lineno}"
        for name, tree in _core_modules()
        for call in _calls(tree)
        if isinstance(call.func, ast.Name) and call.func.id == "Mob"
    ]
    assert found == [], "a new mob is Mob.founded(...), for founding and re-clustering alike"
    founded = [
        name
        for name, tree in _core_modules()
        for call in _calls(tree)
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "founded"
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "Mob"
    ]
    assert "mobs.py" in founded
