"""The Docker-free Lambda asset builder and the context-driven deploy configuration."""

from __future__ import annotations

import subprocess
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
        wanted = [line.split(">")[0].split("<")[0].split("[")[0].split("=")[0].strip().lower()
                  for line in source.splitlines() if line.strip() and not line.startswith("#")]
        assert set(wanted) <= set(pinned), f"{lock.name} is stale: pip-compile --generate-hashes {lock.stem}.in"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {r.split(">")[0].split("<")[0].split("[")[0].strip().lower()
               for r in project["optional-dependencies"]["lambda"]}
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
    first = assets.build_layer_dir("deps", lock, python_version="3.14", mode=AssetMode.BUILD,
                                   build_dir=tmp_path / "b", runner=pip)
    again = assets.build_layer_dir("deps", lock, python_version="3.14", mode=AssetMode.BUILD,
                                   build_dir=tmp_path / "b", runner=pip)
    assert first == again and len(pip.calls) == 1
    assert (first / "python" / "pydantic" / "__init__.py").exists()
    assert not (first / "python" / "pydantic" / "__pycache__").exists()  # pruned
    other = assets.build_layer_dir("deps", _lock(tmp_path, "pydantic==2.14.4", "numpy==2.4.6"),
                                   python_version="3.14", mode=AssetMode.BUILD, build_dir=tmp_path / "b", runner=pip)
    assert other != first and len(pip.calls) == 2  # a lock change rebuilds


def test_a_failed_install_stops_the_synth_with_the_command(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"(?s)'deps' failed \(pip exit 1\).*--platform.*no matching distribution"):
        assets.build_layer_dir("deps", _lock(tmp_path, "nope==1"), python_version="3.14", mode=AssetMode.BUILD,
                               build_dir=tmp_path / "b", runner=FakePip(returncode=1))
    assert not any(p.name.endswith(".complete") for p in tmp_path.rglob("*"))


def test_placeholder_mode_never_calls_pip(tmp_path: Path) -> None:
    pip = FakePip()
    layer = assets.build_layer_dir("deps", _lock(tmp_path, "pydantic==2"), python_version="3.14",
                                   mode=AssetMode.PLACEHOLDER, build_dir=tmp_path / "b", runner=pip)
    assert pip.calls == [] and list((layer / "python").iterdir())


def test_context_values_become_the_deploy_config() -> None:
    app = cdk.App(context={
        "milkmobs:removalPolicy": "destroy", "milkmobs:corsOrigins": "https://a.example, https://b.example",
        "milkmobs:openSearchDataNodes": "2", "milkmobs:alarmEmail": "ops@example.com",
        "milkmobs:assetMode": "placeholder", "milkmobs:settings": '{"cluster_join_threshold": 0.8}',
    })
    config = DeployConfig.from_context(app.node)
    assert config.removal_policy == cdk.RemovalPolicy.DESTROY
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert config.opensearch_data_nodes == 2 and config.alarm_email == "ops@example.com"
    assert config.asset_mode is AssetMode.PLACEHOLDER
    assert config.settings_overrides == {"cluster_join_threshold": 0.8}
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
