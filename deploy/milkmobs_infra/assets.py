"""Lambda code without Docker: the package source as the function code, its dependencies as layers.

``pip install --platform manylinux…_aarch64 --only-binary=:all: --target …`` fetches the wheels
Lambda's arm64 Python runtime needs, whatever machine synthesizes. The result is cached under
``deploy/.build/`` by a hash of (requirements, Python version, platforms), so only the first synth
(or a dependency change) pays for the download. In ``placeholder`` mode a tiny directory stands in
for each layer, so tests synthesize in seconds without a network.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from milkmobs_infra.config import AssetMode

DEPLOY_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = DEPLOY_DIR.parent
SRC_DIR = REPO_DIR / "src"
BUILD_DIR = DEPLOY_DIR / ".build"

# Lambda's arm64 runtimes (Amazon Linux 2023, glibc 2.34) load any of these wheel tags.
LAMBDA_PLATFORMS: tuple[str, ...] = (
    "manylinux_2_34_aarch64",
    "manylinux_2_28_aarch64",
    "manylinux_2_17_aarch64",
    "manylinux2014_aarch64",
)
# ffmpeg for generate-thumbnail: imageio-ffmpeg ships a static ffmpeg binary in its wheel.
FFMPEG_REQUIREMENTS: tuple[str, ...] = ("imageio-ffmpeg>=0.5",)
# What the function code asset leaves out of ``src/``.
CODE_EXCLUDES: tuple[str, ...] = ("*.egg-info", "**/__pycache__", "**/*.pyc")

Runner = Callable[..., Any]

#: Lambda's limit on a function's unzipped code plus all its layers (250 MB).
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024


def lambda_requirements(pyproject: Path = REPO_DIR / "pyproject.toml") -> list[str]:
    """The package's runtime dependencies plus its ``lambda`` extra, as pip requirement strings."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"]) + list(project.get("optional-dependencies", {}).get("lambda", []))
    return sorted(dict.fromkeys(requirements))  # stable order, no duplicates: a stable cache key


def pip_command(requirements: Sequence[str], *, target: Path, python_version: str) -> list[str]:
    """The pip invocation that installs Lambda-compatible wheels (never sdists) into ``target``."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    for platform in LAMBDA_PLATFORMS:
        command += ["--platform", platform]
    command += [
        "--implementation", "cp",
        "--python-version", python_version,
        "--only-binary=:all:",
        "--upgrade",
        "--target", str(target),
        *requirements,
    ]
    return command


def build_layer_dir(
    name: str,
    requirements: Sequence[str],
    *,
    python_version: str,
    mode: AssetMode,
    build_dir: Path = BUILD_DIR,
    runner: Runner = subprocess.run,
) -> Path:
    """A directory with ``python/<packages>`` ready to be a Lambda layer asset; cached by content.

    Raises ``RuntimeError`` naming the layer and the pip command when the install fails: a
    deployment must never go out with a silently missing dependency.
    """
    key = hashlib.sha256(
        json.dumps([list(requirements), python_version, list(LAMBDA_PLATFORMS), mode.value]).encode()
    ).hexdigest()[:16]
    layer_dir = build_dir / f"{name}-{mode.value}-{key}"
    if (layer_dir / ".complete").exists():
        return layer_dir
    staging = build_dir / f"{layer_dir.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "python").mkdir(parents=True)
    if mode is AssetMode.PLACEHOLDER:
        (staging / "python" / f"{name.replace('-', '_')}_placeholder.txt").write_text(
            "Placeholder layer for tests; synthesize with milkmobs:assetMode=build to deploy.\n"
            + "\n".join(requirements)
            + "\n"
        )
    else:
        command = pip_command(requirements, target=staging / "python", python_version=python_version)
        result = runner(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"building the Lambda layer {name!r} failed (pip exit {result.returncode}).\n"
                f"command: {' '.join(command)}\n{result.stderr or result.stdout}"
            )
        _prune(staging / "python")
    (staging / ".complete").write_text(json.dumps(list(requirements)))
    shutil.rmtree(layer_dir, ignore_errors=True)
    staging.rename(layer_dir)
    return layer_dir


def _prune(site: Path) -> None:
    """Drop what Lambda never loads: bytecode caches, test suites, botocore's docs-only examples."""
    for pattern in ("**/__pycache__", "**/tests", "botocore/data/*/*/examples-1.json"):
        for path in site.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.is_file():
                path.unlink()


def directory_bytes(path: Path, excludes: Sequence[str] = ()) -> int:
    """Total size of the files under ``path`` (skipping ``excludes`` glob patterns)."""
    skipped = {p for pattern in excludes for p in path.glob(pattern)}
    total = 0
    for file in path.rglob("*"):
        if file.is_file() and not any(parent in skipped for parent in (file, *file.parents)):
            total += file.stat().st_size
    return total


def check_unzipped_size(function: str, parts: Sequence[int]) -> None:
    """ValueError naming the function when its code and layers exceed what Lambda accepts."""
    total = sum(parts)
    if total > LAMBDA_UNZIPPED_LIMIT_BYTES:
        raise ValueError(
            f"{function}: code and layers are {total / 2**20:.1f} MiB unzipped, above Lambda's "
            f"{LAMBDA_UNZIPPED_LIMIT_BYTES / 2**20:.0f} MiB limit; trim the dependencies or use a container image"
        )
