"""What the wheel and the sdist carry: the licence, the docs, one version everywhere."""

from __future__ import annotations

import email
import json
import tarfile
import zipfile
from pathlib import Path

from milkmobs import __version__
from tests.packaging.conftest import REPO, Built


def test_the_licence_file_is_the_full_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    for section in ("1. Definitions.", "4. Redistribution.", "9. Accepting Warranty or Additional Liability."):
        assert section in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_wheel_declares_the_licence_and_carries_its_text(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = wheel.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(wheel.read(metadata_name))
        licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert wheel.read(licence) == (REPO / "LICENSE").read_bytes()
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Version"] == __version__


def test_the_sdist_carries_the_docs_and_the_licence(built: Built) -> None:
    with tarfile.open(built.sdist) as sdist:
        root = sdist.getnames()[0].split("/")[0]
        names = {name.removeprefix(root + "/") for name in sdist.getnames()}
    docs = {str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*") if p.is_file() and "checkpoint" not in str(p)}
    assert docs and docs <= names, sorted(docs - names)
    assert {"LICENSE", "README.md", "pyproject.toml"} <= names


def test_the_openapi_document_carries_the_package_version(built: Built) -> None:
    committed = json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))
    wheel_version = built.wheel.name.split("-")[1]
    assert committed["info"]["version"] == __version__ == wheel_version


def test_docs_paths_are_checked_against_real_files() -> None:
    # Guards the sdist test above: an empty docs/ would make the subset check pass vacuously.
    assert (REPO / "docs" / "openapi.json").is_file() and Path(REPO / "MANIFEST.in").is_file()


def test_the_wheel_carries_the_voice_detector_model_and_its_licence(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        note = wheel.read("milkmobs/data/silero_vad.LICENSE.txt").decode()
    assert "milkmobs/data/silero_vad_16k_sequence.onnx" in names
    assert "MIT License" in note and "silero-vad 6.2.3" in note
    with tarfile.open(built.sdist) as sdist:
        assert any(n.endswith("src/milkmobs/data/silero_vad_16k_sequence.onnx") for n in sdist.getnames())


def test_the_wheel_carries_the_phone_model_and_how_it_was_made(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        note = wheel.read("milkmobs/data/phones.README.txt").decode()
    assert "milkmobs/data/phones.onnx" in names
    assert "benchmarks/train_phone_model.py" in note
    with tarfile.open(built.sdist) as sdist:
        assert any(n.endswith("src/milkmobs/data/phones.onnx") for n in sdist.getnames())
