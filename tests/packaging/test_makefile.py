"""Every make target runs the virtualenv it names, wherever VENV points (relative or absolute) and
whichever folder the recipe changes into."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO

TARGETS = ("test", "demo", "serve", "synth", "bench")
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _commands(target: str, venv: str) -> list[tuple[Path, str]]:
    """(folder the command runs in, the command) for each line ``make -n`` would run, setup skipped."""
    stamp = f"{venv}/bin/milkmobs"
    lines = subprocess.run(
        ["make", "-n", "-C", str(REPO), "-o", stamp, target, f"VENV={venv}"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    found = []
    for line in lines:
        folder = REPO
        for step in line.split("&&"):
            step = step.strip()
            if step.startswith("cd "):
                folder = folder / step[3:].strip()
            else:
                found.append((folder, step))
    return found


@pytest.mark.parametrize("venv", [".venv", "envs/dev", "/opt/somewhere/venv"])
@pytest.mark.parametrize("target", TARGETS)
def test_each_target_runs_the_named_virtualenv(target: str, venv: str) -> None:
    expected = os.path.normpath(REPO / venv / "bin")  # an absolute venv stays as it is
    runs = [(folder, command) for folder, command in _commands(target, venv) if "/bin/" in command.split()[0]]
    assert runs, f"make {target} runs nothing from the virtualenv"
    for folder, command in runs:
        program = command.split()[0]
        resolved = os.path.normpath(folder / program)
        assert re.fullmatch(re.escape(expected) + r"/[\w.-]+", resolved), (target, command, folder)
