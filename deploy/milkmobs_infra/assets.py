"""Lambda code without Docker: the package source as the function code, its dependencies as layers.

Each layer is installed from a lock file with hashes (``deploy/lambda-requirements/*.txt``,
compiled by ``pip-compile --generate-hashes`` from the ``.in`` next to it), so what Lambda runs
and what the tests run are the same versions, byte for byte where the wheels are pure Python.
``pip install --require-hashes --platform manylinux…_aarch64 --only-binary=:all: --target …``
fetches the wheels Lambda's arm64 Python runtime needs, whatever machine synthesizes; with
``platforms=()`` the same lock installs for the running interpreter (the tests' replica).
Results are cached under ``deploy/.build/`` by a hash of (lock, Python version, platforms), so
only the first synth (or a lock change) pays for the download. In ``placeholder`` mode a tiny
directory stands in for each layer, so the CDK tests synthesize in seconds without a network.

Layers are installed as sources only (``--no-compile``): bytecode must be made by the runtime's
own Python (3.14), which the host may not have. With ``milkmobs:bytecode=runtime-image`` every
asset (code and layers) is then bundled in the runtime's own CDK bundling image
(``Runtime.bundling_image``, Docker at synth), which byte-compiles it there
(:func:`bytecode_bundling`); by default Lambda compiles on import, at each cold start.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from milkmobs_infra.config import AssetMode
from milkmobs_infra.function_specs import FunctionSpec

DEPLOY_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = DEPLOY_DIR.parent
SRC_DIR = REPO_DIR / "src"
BUILD_DIR = DEPLOY_DIR / ".build"
LOCK_DIR = DEPLOY_DIR / "lambda-requirements"

# Lambda's arm64 runtimes (Amazon Linux 2023, glibc 2.34) load any of these wheel tags.
LAMBDA_PLATFORMS: tuple[str, ...] = (
    "manylinux_2_34_aarch64",
    "manylinux_2_28_aarch64",
    "manylinux_2_17_aarch64",
    "manylinux2014_aarch64",
)
# The layers, each from its lock: every function gets ``dependencies``; ``media`` (a static
# ffmpeg binary) only the functions whose spec declares ``media``.
LAYER_LOCKS: dict[str, Path] = {
    "dependencies": LOCK_DIR / "dependencies.txt",
    "media": LOCK_DIR / "media.txt",
}
LAYER_DESCRIPTIONS: dict[str, str] = {
    "dependencies": "milkmobs runtime dependencies (pydantic, numpy, powertools, boto3, opensearch-py)",
    "media": "static ffmpeg (imageio-ffmpeg) for the functions that probe videos or cut thumbnails",
}
# What the function code asset leaves out of ``src/``.
CODE_EXCLUDES: tuple[str, ...] = ("*.egg-info", "**/__pycache__", "**/*.pyc")

Runner = Callable[..., Any]

#: Lambda's limit on a function's unzipped code plus all its layers (250 MB).
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024


def bytecode_command(python_version: str) -> str:
    """The shell command the bundling container runs: refuse an image whose Python is not the
    runtime's, copy the asset, and compile it with unchecked-hash pycs (Lambda's code directory is
    read-only and the asset zip does not keep the sources' mtimes, so timestamp pycs would be
    recompiled at every cold start)."""
    major, minor = (int(part) for part in python_version.split("."))
    guard = (
        f"import sys; v = sys.version_info[:2]; sys.exit(0 if v == ({major}, {minor}) else "
        f"'the bundling image runs Python %d.%d, the runtime is {major}.{minor}' % v)"
    )
    return (
        f'python -c "{guard}" && cp -R /asset-input/. /asset-output/ && '
        "python -m compileall -q -j 0 --invalidation-mode unchecked-hash /asset-output"
    )


def bytecode_bundling(runtime: lambda_.Runtime) -> cdk.BundlingOptions:
    """Bundle an asset in ``runtime``'s own image, byte-compiled by the runtime's Python."""
    return cdk.BundlingOptions(
        image=runtime.bundling_image,
        command=["bash", "-c", bytecode_command(runtime.name.removeprefix("python"))],
    )


def layers_of(spec: FunctionSpec) -> list[str]:
    """The layers ``spec``'s function is given, in order."""
    return ["dependencies", *(["media"] if spec.media else [])]


def locked_names(lock: Path) -> list[str]:
    """The distribution names pinned in a lock file (``name==version``), normalized."""
    names = []
    for line in lock.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            names.append(line.split("==", 1)[0].strip().lower().replace("_", "-"))
    return names


def pip_command(
    lock: Path, *, target: Path, python_version: str | None, platforms: Sequence[str] = LAMBDA_PLATFORMS
) -> list[str]:
    """pip installing exactly the locked, hash-checked wheels (never sdists) into ``target``.

    With ``platforms`` the wheels are Lambda's (``python_version`` required); without, they are
    the running interpreter's.
    """
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
    ]
    if platforms:
        if python_version is None:
            raise ValueError("a cross-platform install needs the target's Python version")
        for platform in platforms:
            command += ["--platform", platform]
        command += ["--implementation", "cp", "--python-version", python_version]
    command += ["--upgrade", "--target", str(target), "-r", str(lock)]
    return command


def build_layer_dir(
    name: str,
    lock: Path,
    *,
    python_version: str | None,
    mode: AssetMode,
    platforms: Sequence[str] = LAMBDA_PLATFORMS,
    build_dir: Path = BUILD_DIR,
    runner: Runner = subprocess.run,
) -> Path:
    """A directory with ``python/<packages>`` ready to be a Lambda layer asset; cached by content.

    Raises ``RuntimeError`` naming the layer and the pip command when the install fails: a
    deployment must never go out with a silently missing dependency.
    """
    key = hashlib.sha256(
        json.dumps([lock.read_text(), python_version, list(platforms), mode.value]).encode()
    ).hexdigest()[:16]
    layer_dir = build_dir / f"{name}-{mode.value}-{key}"
    if (layer_dir / ".complete").exists():
        return layer_dir
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / f"{layer_dir.name}.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # parallel test workers build each layer once
        if not (layer_dir / ".complete").exists():
            _build(name, lock, layer_dir, python_version=python_version, mode=mode, platforms=platforms, runner=runner)
    return layer_dir


def _build(
    name: str,
    lock: Path,
    layer_dir: Path,
    *,
    python_version: str | None,
    mode: AssetMode,
    platforms: Sequence[str],
    runner: Runner,
) -> None:
    staging = layer_dir.with_name(f"{layer_dir.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "python").mkdir(parents=True)
    if mode is AssetMode.PLACEHOLDER:
        (staging / "python" / f"{name.replace('-', '_')}_placeholder.txt").write_text(
            "Placeholder layer for tests; synthesize with milkmobs:assetMode=build to deploy.\n"
            + "\n".join(locked_names(lock))
            + "\n"
        )
    else:
        command = pip_command(lock, target=staging / "python", python_version=python_version, platforms=platforms)
        result = runner(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"building the Lambda layer {name!r} failed (pip exit {result.returncode}).\n"
                f"command: {' '.join(command)}\n{result.stderr or result.stdout}"
            )
        _prune(staging / "python")
    (staging / ".complete").write_text(json.dumps(locked_names(lock)))
    shutil.rmtree(layer_dir, ignore_errors=True)
    staging.rename(layer_dir)


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
