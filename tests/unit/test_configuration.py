"""Settings come from arguments, the environment, ``.env`` and ``milkmobs.toml``, in that order;
docs/configuration.md lists every one of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from milkmobs.cli.main import build_parser, main, settings_from
from milkmobs.cli.settings_doc import BEGIN, END, render_table
from milkmobs.domain import ConfigurationError
from milkmobs.settings import Backend, Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory and no ``MILKMOBS_*`` variables from the shell."""
    for name in [n for n in os.environ if n.startswith("MILKMOBS_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


TOML = """
backend = "local"
workers = 3
cluster_join_threshold = 0.8
cors_origins = ["https://app.example.com"]

[campaign]
product = "oat milk"
keywords = ["oat milk"]
pass_threshold = 0.6
"""


def test_defaults_when_no_source_says_anything(workdir: Path) -> None:
    settings = Settings()
    assert settings.backend is Backend.MEMORY and settings.workers == 2 and settings.model_fields_set == set()


def test_milkmobs_toml_sets_fields_by_name_including_the_campaign(workdir: Path) -> None:
    (workdir / "milkmobs.toml").write_text(TOML)
    settings = Settings()
    assert (settings.backend, settings.workers, settings.cluster_join_threshold) == (Backend.LOCAL, 3, 0.8)
    assert settings.cors_origins == ["https://app.example.com"]
    assert (settings.campaign.product, settings.campaign.keywords, settings.campaign.pass_threshold) == (
        "oat milk",
        ["oat milk"],
        0.6,
    )
    assert settings.campaign.name == "Got Milk"  # what the file leaves out keeps its default


def test_dotenv_wins_over_toml_and_the_environment_over_both(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "milkmobs.toml").write_text(TOML)
    (workdir / ".env").write_text("MILKMOBS_WORKERS=5\nMILKMOBS_CAMPAIGN__NAME=Oat Summer\nUNRELATED=1\n")
    settings = Settings()
    assert settings.workers == 5 and settings.backend is Backend.LOCAL
    assert (settings.campaign.name, settings.campaign.product) == ("Oat Summer", "oat milk")  # merged per field
    monkeypatch.setenv("MILKMOBS_WORKERS", "7")
    assert Settings().workers == 7
    assert Settings(workers=9).workers == 9  # arguments first


def test_other_files_can_be_named(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "conf").mkdir()
    (workdir / "conf" / "prod.toml").write_text('workers = 11\n')
    (workdir / "conf" / "prod.env").write_text("MILKMOBS_RANDOM_SEED=42\n")
    monkeypatch.setenv("MILKMOBS_CONFIG_FILE", "conf/prod.toml")
    monkeypatch.setenv("MILKMOBS_ENV_FILE", "conf/prod.env")
    settings = Settings()
    assert (settings.workers, settings.random_seed) == (11, 42)


@pytest.mark.parametrize("variable", ["MILKMOBS_CONFIG_FILE", "MILKMOBS_ENV_FILE"])
def test_a_named_settings_file_that_is_missing_is_an_error(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "conf/prod.tmol")
    with pytest.raises(ConfigurationError, match=f"{variable} names conf/prod.tmol, which is not a file"):
        Settings()


def test_a_bad_value_in_a_file_names_the_field(workdir: Path) -> None:
    (workdir / "milkmobs.toml").write_text("workers = 0\n")
    with pytest.raises(ValidationError, match="workers"):
        Settings()


def test_the_command_takes_its_backend_from_the_files_too(workdir: Path) -> None:
    assert settings_from(build_parser().parse_args(["mobs"])).backend is Backend.LOCAL  # the command's default
    (workdir / "milkmobs.toml").write_text('backend = "memory"\n')
    assert settings_from(build_parser().parse_args(["mobs"])).backend is Backend.MEMORY
    assert settings_from(build_parser().parse_args(["mobs", "--backend", "aws"])).backend is Backend.AWS


def test_the_configuration_page_lists_every_setting_as_settings_defines_it() -> None:
    document = DOC.read_text(encoding="utf-8")
    generated = document[document.index(BEGIN) : document.index(END) + len(END)]
    assert generated == render_table(), (
        "docs/configuration.md is stale: run `python -m milkmobs.cli.settings_doc docs/configuration.md`"
    )
    for name in Settings.model_fields:
        assert f"| `{name}` | `MILKMOBS_{name.upper()}` |" in generated
    default_workers = Settings.model_fields["workers"].default
    assert f"| `workers` | `MILKMOBS_WORKERS` | int | `{default_workers}` |" in generated


# A mistake in any source stops a command with one line naming the setting and where it was written.
MISTAKES = [
    ("milkmobs.toml", 'backend = "nonsense"\n', {}, ["backend", "'nonsense'", "milkmobs.toml"]),
    ("milkmobs.toml", "[campaign]\npass_threshold = 7\n", {}, ["campaign.pass_threshold", "milkmobs.toml"]),
    ("milkmobs.toml", 'bakend = "memory"\n', {}, ["bakend", "did you mean backend", "milkmobs.toml"]),
    ("milkmobs.toml", "backend = memory\n", {}, ["milkmobs.toml", "not valid TOML"]),
    (".env", "MILKMOBS_WORKERS=none\n", {}, ["workers", "'none'", ".env"]),
    (".env", "MILKMOBS_BAKEND=memory\n", {}, ["MILKMOBS_BAKEND", "did you mean MILKMOBS_BACKEND", ".env"]),
    (".env", "MILKMOBS_CAMPAIGN__PASS_THRESHOLD=7\n", {}, ["campaign.pass_threshold", ".env"]),
    (None, "", {"MILKMOBS_WORKERS": "0"}, ["workers", "'0'", "the environment variable MILKMOBS_WORKERS"]),
]


@pytest.mark.parametrize(
    ("file", "text", "environment", "named"), MISTAKES, ids=[m[1].strip() or str(m[2]) for m in MISTAKES]
)
def test_a_configuration_mistake_is_one_line_naming_the_setting_and_its_source(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    file: str | None, text: str, environment: dict[str, str], named: list[str],
) -> None:
    if file:
        (workdir / file).write_text(text)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["--backend", "memory", "videos"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("milkmobs: "), err
    for part in named:
        assert part in err, (part, err)


def test_the_library_refuses_a_name_that_is_no_setting_rather_than_ignore_it(workdir: Path) -> None:
    (workdir / "milkmobs.toml").write_text('workers = 3\nbakend = "local"\n')
    with pytest.raises(ConfigurationError, match="bakend is not a milkmobs setting"):
        Settings()
    (workdir / "milkmobs.toml").write_text("workers = 3\n")
    (workdir / ".env").write_text("MILKMOBS_WORKER=4\nPATH_OF_SOMETHING_ELSE=/x\n")  # others' variables are fine
    with pytest.raises(ConfigurationError, match="MILKMOBS_WORKER is not a milkmobs setting"):
        Settings()


def test_urls_made_outside_serve_point_where_serve_listens_by_default(workdir: Path) -> None:
    """A notebook's or the CLI's thumbnail and video links work against a plain `milkmobs serve`."""
    from urllib.parse import urlsplit

    from milkmobs.server.serve import ServeOptions

    serve_default = build_parser().parse_args(["serve"]).port
    assert urlsplit(Settings().public_base_url).port == serve_default == ServeOptions().port
