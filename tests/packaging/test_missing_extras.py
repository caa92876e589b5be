"""A base ``pip install milkmobs`` (no extras): choosing a backend whose extra is missing fails at once,
with one line naming the extra, in the library, the CLI, ``serve`` and ``demo``.

The virtualenv holds the built wheel and the core dependencies only: each is linked from this test
run's own environment (offline), found by walking the wheel's ``Requires-Dist`` without extras.
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.packaging.conftest import Built

pytestmark = pytest.mark.slow


def _core_distributions(wheel: Path) -> set[str]:
    """Names of every distribution the wheel needs without extras, transitively (as installed here)."""
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(metadata_name))
    pending = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    found: set[str] = set()
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        dist = importlib.metadata.distribution(requirement.name)
        name = dist.metadata["Name"].lower()
        if name not in found:
            found.add(name)
            pending.extend(Requirement(r) for r in dist.requires or [])
    return found


def _link_distribution(name: str, site_packages: Path) -> None:
    """Link the top-level files and folders of an installed distribution into ``site_packages``."""
    dist = importlib.metadata.distribution(name)
    tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
    for top in tops:
        source = Path(str(dist.locate_file(top)))
        target = site_packages / top
        if source.exists() and not target.exists():
            target.symlink_to(source)


@pytest.fixture(scope="module")
def base_install(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("base-install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    for name in _core_distributions(built.wheel):
        _link_distribution(name, Path(purelib))
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet"]
    # Without PYTHONPATH: pip would count a checkout's src/*.egg-info on it as milkmobs already installed.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    subprocess.run([*pip, str(built.wheel)], check=True, timeout=300, env=clean)
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MILKMOBS_", "VIRTUAL_ENV"))}
    env["HOME"] = str(cwd)  # ~/.milkmobs of this test only
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, cwd=cwd, env=env, check=False)


def test_the_base_install_really_lacks_the_extras(base_install: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util as u, milkmobs; "
        "print([m for m in ('av', 'PIL', 'boto3') if u.find_spec(m)], milkmobs.__file__)"
    )
    done = _run(base_install, str(base_install / "bin" / "python"), "-c", probe, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found, location = done.stdout.split(maxsplit=1)[0], done.stdout.split(maxsplit=1)[1]
    assert found == "[]" and location.startswith(str(base_install)), done.stdout


@pytest.mark.parametrize(("backend", "extra"), [("local", "media"), ("aws", "aws")])
def test_build_raises_a_configuration_error_naming_the_extra(
    base_install: Path, tmp_path: Path, backend: str, extra: str
) -> None:
    script = (
        "from milkmobs.bootstrap import build\n"
        "from milkmobs.domain import ConfigurationError\n"
        "from milkmobs.settings import Settings\n"
        "try:\n"
        f"    build(Settings(backend='{backend}', local={{'data_dir': 'data'}}))\n"
        "except ConfigurationError as exc:\n"
        "    print('ConfigurationError:', exc.message)\n"
    )
    done = _run(base_install, str(base_install / "bin" / "python"), "-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ConfigurationError: ") and done.stdout.count("\n") == 1
    assert f"pip install 'milkmobs[{extra}]'" in done.stdout


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (["--backend", "local", "submit", "clip.mp4"], "media"),
        (["--backend", "local", "mobs"], "media"),
        (["--backend", "local", "serve", "--port", "0"], "media"),
        (["--backend", "aws", "serve", "--port", "0"], "aws"),
        (["--backend", "aws", "stats"], "aws"),
        (["demo"], "media"),
    ],
)
def test_the_command_says_which_extra_in_one_line(
    base_install: Path, tmp_path: Path, command: list[str], extra: str
) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    done = _run(base_install, str(base_install / "bin" / "milkmobs"), *command, cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert re.search(rf"pip install 'milkmobs\[{extra}\]'", done.stderr), done.stderr
    assert not (tmp_path / ".milkmobs" / "milkmobs.sqlite3").exists()  # failed before touching the data


# The arguments each command needs to get as far as choosing its backend.
COMMAND_ARGUMENTS = {"submit": ["clip.mp4"], "status": ["0123abcd"], "delete": ["0123abcd"],
                     "similar": ["0123abcd"], "search": ["milk"], "serve": ["--port", "0"]}  # fmt: skip
COMMAND_EXTRAS = {"check-aws": "aws"}  # the others default to the local backend: the media extra


def _commands() -> list[str]:
    from milkmobs.cli.main import build_parser

    (sub,) = [a for a in build_parser()._actions if a.dest == "command"]
    return sorted(sub.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", _commands())
def test_every_command_without_its_extra_says_which_in_one_line(
    base_install: Path, tmp_path: Path, command: str
) -> None:
    """Whatever command a new user tries first on the base install: one line naming the extra."""
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    done = _run(base_install, str(base_install / "bin" / "milkmobs"), command, *COMMAND_ARGUMENTS.get(command, []),
                cwd=tmp_path)  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    extra = COMMAND_EXTRAS.get(command, "media")
    assert f"pip install 'milkmobs[{extra}]'" in done.stderr, done.stderr


def test_the_memory_backend_works_on_the_base_install(base_install: Path, built: Built, tmp_path: Path) -> None:
    milkmobs = str(base_install / "bin" / "milkmobs")
    done = _run(base_install, milkmobs, "--backend", "memory", "--json", "mobs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"mobs": []}
    version = _run(base_install, milkmobs, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"milkmobs {built.wheel.name.split('-')[1]}"
