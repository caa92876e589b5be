"""The wheel and the sdist, built once per session from a copy of the checkout (offline, no isolation)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: What a build never needs: virtualenvs, VCS data, caches and earlier build output.
_NOT_SOURCES = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "cdk.out", ".build", "node_modules", ".*_cache"
)


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    pytest.importorskip("setuptools", minversion="77")
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCES, symlinks=True)
    out = work / "dist"
    # The PEP 517 hooks of the build backend, called in a clean interpreter: no index, no download.
    # (setuptools logs on stdout, so the file names come back in a file.)
    names = work / "names.txt"
    # (The hooks rewrite sys.argv: the arguments are read first.)
    hooks = (
        "import sys, pathlib; from setuptools import build_meta as b; out, names = sys.argv[1:]; "
        "names = pathlib.Path(names); names.write_text(b.build_wheel(out) + '\\n' + b.build_sdist(out))"
    )
    done = subprocess.run(
        [sys.executable, "-c", hooks, str(out), str(names)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    wheel_name, sdist_name = names.read_text().split("\n")
    return Built(wheel=out / wheel_name, sdist=out / sdist_name)
