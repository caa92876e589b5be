"""The Docker-free Lambda asset builder and the context-driven deploy configuration."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from milkmobs_infra import assets
from milkmobs_infra.config import AssetMode, DeployConfig
from milkmobs_infra.functions import RUNTIME, RUNTIME_VERSION

REPO = Path(__file__).resolve().parents[2]


class FakePip:
    """Records pip invocations; writes a package into --target like pip would, or fails."""

    def __init__(self, returncode: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.returncode = returncode

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "pydantic").mkdir(parents=True)
        (target / "pydantic" / "__init__.py").write_text("")
        (target / "pydantic" / "__pycache__").mkdir()
        return subprocess.CompletedProcess(command, self.returncode, "", "ERROR: no matching distribution")


def _lock(tmp_path: Path, *lines: str) -> Path:
    lock = tmp_path / "lock.txt"
    lock.write_text("".join(f"{line} \\\n    --hash=sha256:{'0' * 64}\n" for line in lines))
    return lock


def test_every_layer_is_installed_from_its_lock_with_hashes() -> None:
    for name, lock in assets.LAYER_LOCKS.items():
        text = lock.read_text()
        pinned = assets.locked_names(lock)
        assert pinned, name
        assert text.count("==") == len(pinned) and text.count("--hash=sha256:") >= len(pinned), name
        source = lock.with_suffix(".in").read_text()
        wanted = [
            line.split(">")[0].split("<")[0].split("[")[0].split("=")[0].strip().lower()
            for line in source.splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert set(wanted) <= set(pinned), f"{lock.name} is stale: pip-compile --generate-hashes {lock.stem}.in"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {
        r.split(">")[0].split("<")[0].split("[")[0].strip().lower() for r in project["optional-dependencies"]["lambda"]
    }
    assert runtime <= set(assets.locked_names(assets.LAYER_LOCKS["dependencies"]))


def test_pip_fetches_only_locked_arm64_wheels_for_the_lambda_runtime(tmp_path: Path) -> None:
    lock = _lock(tmp_path, "numpy==2.4.6")
    command = assets.pip_command(lock, target=tmp_path, python_version=RUNTIME_VERSION)
    assert command[command.index("--python-version") + 1] == RUNTIME.name.removeprefix("python") == "3.14"
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms and all(p.endswith("_aarch64") for p in platforms)
    assert {"--only-binary=:all:", "--require-hashes", "--no-deps", "--no-compile"} <= set(command)
    assert command[-2:] == ["-r", str(lock)]
    host = assets.pip_command(lock, target=tmp_path, python_version=None, platforms=())
    assert "--platform" not in host and "--require-hashes" in host


def test_the_layer_is_built_once_then_served_from_the_cache(tmp_path: Path) -> None:
    pip = FakePip()
    lock = _lock(tmp_path, "pydantic==2.14.4")
    first = assets.build_layer_dir(
        "deps", lock, python_version="3.14", mode=AssetMode.BUILD, build_dir=tmp_path / "b", runner=pip
    )
    again = assets.build_layer_dir(
        "deps", lock, python_version="3.14", mode=AssetMode.BUILD, build_dir=tmp_path / "b", runner=pip
    )
    assert first == again and len(pip.calls) == 1
    assert (first / "python" / "pydantic" / "__init__.py").exists()
    assert not (first / "python" / "pydantic" / "__pycache__").exists()  # pruned
    other = assets.build_layer_dir(
        "deps",
        _lock(tmp_path, "pydantic==2.14.4", "numpy==2.4.6"),
        python_version="3.14",
        mode=AssetMode.BUILD,
        build_dir=tmp_path / "b",
        runner=pip,
    )
    assert other != first and len(pip.calls) == 2  # a lock change rebuilds


def test_a_failed_install_stops_the_synth_with_the_command(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"(?s)'deps' failed \(pip exit 1\).*--platform.*no matching distribution"):
        assets.build_layer_dir(
            "deps",
            _lock(tmp_path, "nope==1"),
            python_version="3.14",
            mode=AssetMode.BUILD,
            build_dir=tmp_path / "b",
            runner=FakePip(returncode=1),
        )
    assert not any(p.name.endswith(".complete") for p in tmp_path.rglob("*"))


def test_placeholder_mode_never_calls_pip(tmp_path: Path) -> None:
    pip = FakePip()
    layer = assets.build_layer_dir(
        "deps",
        _lock(tmp_path, "pydantic==2"),
        python_version="3.14",
        mode=AssetMode.PLACEHOLDER,
        build_dir=tmp_path / "b",
        runner=pip,
    )
    assert pip.calls == [] and list((layer / "python").iterdir())


def test_context_values_become_the_deploy_config() -> None:
    app = cdk.App(
        context={
            "milkmobs:removalPolicy": "destroy",
            "milkmobs:corsOrigins": "https://a.example, https://b.example",
            "milkmobs:openSearchDataNodes": "2",
            "milkmobs:alarmEmail": "ops@example.com",
            "milkmobs:assetMode": "placeholder",
            "milkmobs:settings": '{"clustering.join_threshold": 0.8}',
        }
    )
    config = DeployConfig.from_context(app.node)
    assert config.removal_policy == cdk.RemovalPolicy.DESTROY
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert config.opensearch_data_nodes == 2 and config.alarm_email == "ops@example.com"
    assert config.asset_mode is AssetMode.PLACEHOLDER
    assert config.settings_overrides == {"clustering.join_threshold": 0.8}
    assert DeployConfig.from_context(cdk.App().node) == DeployConfig()


def test_a_bad_context_value_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="milkmobs:removalPolicy"):
        DeployConfig.from_context(cdk.App(context={"milkmobs:removalPolicy": "keep"}).node)


def test_a_function_above_lambdas_size_limit_fails_the_synth() -> None:
    limit = assets.LAMBDA_UNZIPPED_LIMIT_BYTES
    assets.check_unzipped_size("generate-thumbnail", [limit - 10, 10])
    with pytest.raises(ValueError, match=r"generate-thumbnail: .* above Lambda's 250 MiB limit"):
        assets.check_unzipped_size("generate-thumbnail", [limit, 1])


def test_directory_bytes_skips_the_excluded_files(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_bytes(b"x" * 10)
    (tmp_path / "pkg" / "__pycache__" / "a.pyc").write_bytes(b"x" * 100)
    assert assets.directory_bytes(tmp_path) == 110
    assert assets.directory_bytes(tmp_path, ("**/__pycache__",)) == 10


# --- bytecode, compiled by the runtime's own Python -------------------------------------------------
def _pyc_flags(pyc: Path) -> int:
    """The PEP 552 flags word of a .pyc: 0 timestamp-based, 1 hash-based unchecked, 3 checked."""
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


def _run_bytecode_command(command: str, source: Path, output: Path) -> subprocess.CompletedProcess[str]:
    """The bundling command as the container would run it, with this interpreter as ``python`` and
    the two directories where the container mounts them."""
    local = (
        command.replace("/asset-input", str(source))
        .replace("/asset-output", str(output))
        .replace("python ", f"{sys.executable} ")
    )
    return subprocess.run(["bash", "-c", local], capture_output=True, text=True, check=False)


def test_bytecode_is_made_in_the_runtimes_own_bundling_image() -> None:
    options = assets.bytecode_bundling(RUNTIME)
    assert options.image.image == RUNTIME.bundling_image.image == "public.ecr.aws/sam/build-python3.14"
    shell, flag, command = options.command or []
    assert (shell, flag) == ("bash", "-c")
    assert "sys.version_info[:2]" in command and "(3, 14)" in command
    assert "compileall" in command and "--invalidation-mode unchecked-hash" in command


def test_the_bytecode_command_compiles_unchecked_hash_pycs_that_import(tmp_path: Path) -> None:
    """Run here with this machine's Python in place of the image's (no 3.14 interpreter and no
    Docker daemon on the build machine): same command, its version guard set to this Python."""
    source, output = tmp_path / "in", tmp_path / "out"
    (source / "python" / "layered").mkdir(parents=True)
    (source / "python" / "layered" / "__init__.py").write_text("ANSWER = 42\n")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    result = _run_bytecode_command(assets.bytecode_command(here), source, output)
    assert result.returncode == 0, result.stderr
    (pyc,) = (output / "python" / "layered" / "__pycache__").glob(f"__init__.cpython-{here.replace('.', '')}.pyc")
    assert _pyc_flags(pyc) == 1  # hash-based, unchecked: the asset zip's mtimes cannot invalidate it
    (output / "python" / "layered" / "__init__.py").write_text("ANSWER = 0\n")  # the pyc is what runs
    imported = subprocess.run(
        [sys.executable, "-c", "import layered; print(layered.ANSWER)"],
        cwd=output / "python",
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == "42"


def test_an_image_whose_python_is_not_the_runtimes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    result = _run_bytecode_command(assets.bytecode_command("3.14"), tmp_path / "in", tmp_path / "out")
    assert result.returncode != 0
    assert (
        f"the bundling image runs Python {sys.version_info.major}.{sys.version_info.minor}, the runtime is 3.14"
        in result.stderr
    )
    assert not (tmp_path / "out").exists()


def test_runtime_image_bytecode_bundles_the_code_and_every_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``milkmobs:bytecode=runtime-image`` puts the bundling on every asset. Bundling itself is
    skipped here (``aws:cdk:bundling-stacks`` empty: no Docker daemon on this machine)."""
    from aws_cdk import aws_lambda as lambda_
    from milkmobs_infra.config import Bytecode
    from milkmobs_infra.functions import LambdaFunctions

    bundled: list[tuple[str, Any]] = []
    from_asset = lambda_.Code.from_asset

    def recording(path: str, **kwargs: Any) -> Any:
        bundled.append((path, kwargs.get("bundling")))
        return from_asset(path, **kwargs)

    monkeypatch.setattr(lambda_.Code, "from_asset", staticmethod(recording))
    config = DeployConfig.from_context(cdk.App(context={"milkmobs:bytecode": "runtime-image"}).node)
    assert config.bytecode is Bytecode.RUNTIME_IMAGE
    for bytecode, expected in ((config.bytecode, True), (Bytecode.NONE, False)):
        bundled.clear()
        app = cdk.App(context={"aws:cdk:bundling-stacks": []})
        LambdaFunctions(
            cdk.Stack(app, "Functions"),
            "Functions",
            name_prefix="t",
            settings_values={},
            asset_mode=AssetMode.PLACEHOLDER,
            bytecode=bytecode,
            log_retention_days=1,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        assert {Path(path).name.split("-")[0] for path, _ in bundled} == {"src", *assets.LAYER_LOCKS}
        for path, bundling in bundled:
            assert (bundling is not None) is expected, path
            if expected:
                assert bundling.image.image == RUNTIME.bundling_image.image
                assert bundling.command == assets.bytecode_bundling(RUNTIME).command
