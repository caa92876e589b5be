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
from milkmobs.settings import GROUPS, RENAMED, Backend, LocalSettings, Settings, env_name

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

[local]
workers = 3

[clustering]
join_threshold = 0.8

[http]
cors_origins = ["https://app.example.com"]

[campaign]
product = "oat milk"
keywords = ["oat milk"]
pass_threshold = 0.6
"""


def test_defaults_when_no_source_says_anything(workdir: Path) -> None:
    settings = Settings()
    assert settings.backend is Backend.MEMORY and settings.local.workers == 2 and settings.model_fields_set == set()


def test_milkmobs_toml_sets_fields_by_name_including_the_campaign(workdir: Path) -> None:
    (workdir / "milkmobs.toml").write_text(TOML)
    settings = Settings()
    assert (settings.backend, settings.local.workers, settings.clustering.join_threshold) == (Backend.LOCAL, 3, 0.8)
    assert settings.http.cors_origins == ["https://app.example.com"]
    assert (settings.campaign.product, settings.campaign.keywords, settings.campaign.pass_threshold) == (
        "oat milk",
        ["oat milk"],
        0.6,
    )
    assert settings.campaign.name == "Got Milk"  # what the file leaves out keeps its default


def test_dotenv_wins_over_toml_and_the_environment_over_both(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "milkmobs.toml").write_text(TOML)
    (workdir / ".env").write_text("MILKMOBS_LOCAL__WORKERS=5\nMILKMOBS_CAMPAIGN__NAME=Oat Summer\nUNRELATED=1\n")
    settings = Settings()
    assert settings.local.workers == 5 and settings.backend is Backend.LOCAL
    assert (settings.campaign.name, settings.campaign.product) == ("Oat Summer", "oat milk")  # merged per field
    monkeypatch.setenv("MILKMOBS_LOCAL__WORKERS", "7")
    assert Settings().local.workers == 7
    assert Settings(local={"workers": 9}).local.workers == 9  # arguments first


def test_other_files_can_be_named(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "conf").mkdir()
    (workdir / "conf" / "prod.toml").write_text("[local]\nworkers = 11\n")
    (workdir / "conf" / "prod.env").write_text("MILKMOBS_RANDOM_SEED=42\n")
    monkeypatch.setenv("MILKMOBS_CONFIG_FILE", "conf/prod.toml")
    monkeypatch.setenv("MILKMOBS_ENV_FILE", "conf/prod.env")
    settings = Settings()
    assert (settings.local.workers, settings.random_seed) == (11, 42)


@pytest.mark.parametrize("variable", ["MILKMOBS_CONFIG_FILE", "MILKMOBS_ENV_FILE"])
def test_a_named_settings_file_that_is_missing_is_an_error(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "conf/prod.tmol")
    with pytest.raises(ConfigurationError, match=f"{variable} names conf/prod.tmol, which is not a file"):
        Settings()


def test_a_bad_value_in_a_file_names_the_field(workdir: Path) -> None:
    (workdir / "milkmobs.toml").write_text("[local]\nworkers = 0\n")
    with pytest.raises(ValidationError, match="workers"):
        Settings()


def test_each_group_reads_its_nested_environment_variables(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "MILKMOBS_AWS__REGION": "eu-west-1", "MILKMOBS_OPENSEARCH__ENDPOINT": "https://search.example",
        "MILKMOBS_LOCAL__DATA_DIR": "/srv/milkmobs", "MILKMOBS_HTTP__CORS_ORIGINS": '["https://a.example"]',
        "MILKMOBS_UPLOADS__MAX_VIDEO_SECONDS": "60", "MILKMOBS_CLUSTERING__BATCH_K": "4",
        "MILKMOBS_MODELS__BEDROCK_REGION": "us-west-2",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.aws.region, settings.opensearch.endpoint, settings.local.data_dir) == (
        "eu-west-1", "https://search.example", Path("/srv/milkmobs"))  # fmt: skip
    assert settings.http.cors_origins == ["https://a.example"] and settings.uploads.max_video_seconds == 60
    assert (settings.clustering.batch_k, settings.models.bedrock_region) == (4, "us-west-2")


@pytest.mark.parametrize(
    ("old", "new"),
    [("MILKMOBS_AWS_REGION", "MILKMOBS_AWS__REGION"), ("MILKMOBS_DATA_DIR", "MILKMOBS_LOCAL__DATA_DIR"),
     ("MILKMOBS_OPENSEARCH_ENDPOINT", "MILKMOBS_OPENSEARCH__ENDPOINT"),
     ("MILKMOBS_CLUSTER_JOIN_THRESHOLD", "MILKMOBS_CLUSTERING__JOIN_THRESHOLD"),
     ("MILKMOBS_HTTP_WORKERS", "MILKMOBS_HTTP__WORKERS"), ("MILKMOBS_WORKERS", "MILKMOBS_LOCAL__WORKERS")],
)  # fmt: skip
def test_a_flat_name_from_before_the_groups_is_refused_naming_the_new_one(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    monkeypatch.setenv(old, "1")
    with pytest.raises(ConfigurationError, match=f"{old}.*{new}"):
        Settings()


def test_every_old_flat_name_is_refused_from_every_source(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for old, new in RENAMED.items():
        (workdir / ".env").write_text(f"MILKMOBS_{old.upper()}=1\n")
        with pytest.raises(ConfigurationError, match=env_name(new)):
            Settings()
        (workdir / ".env").unlink()
        (workdir / "milkmobs.toml").write_text(f"{old} = 1\n")
        group, name = new.split(".")
        with pytest.raises(ConfigurationError, match=rf"\[{group}\] {name}"):
            Settings()
        (workdir / "milkmobs.toml").unlink()
        with pytest.raises(ConfigurationError, match=f"Settings\\({group}="):
            Settings(**{old: 1})
    monkeypatch.setenv("MILKMOBS_EVENT_BUS_NAME", "other-bus")
    with pytest.raises(ConfigurationError, match="no longer a setting"):
        Settings()


def test_an_unknown_name_inside_a_group_is_refused(workdir: Path) -> None:
    with pytest.raises(ValidationError, match="regoin"):
        Settings(aws={"regoin": "eu-west-1"})


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
        if name not in GROUPS:
            assert f"| `{name}` | `MILKMOBS_{name.upper()}` |" in generated
            continue
        for field in GROUPS[name].model_fields:  # every setting of every group
            assert f"| `{name}.{field}` | `MILKMOBS_{name.upper()}__{field.upper()}` |" in generated
    default_workers = LocalSettings.model_fields["workers"].default
    assert f"| `local.workers` | `MILKMOBS_LOCAL__WORKERS` | int | `{default_workers}` |" in generated


# A mistake in any source stops a command with one line naming the setting and where it was written.
MISTAKES = [
    ("milkmobs.toml", 'backend = "nonsense"\n', {}, ["backend", "'nonsense'", "milkmobs.toml"]),
    ("milkmobs.toml", "[campaign]\npass_threshold = 7\n", {}, ["campaign.pass_threshold", "milkmobs.toml"]),
    ("milkmobs.toml", 'bakend = "memory"\n', {}, ["bakend", "did you mean backend", "milkmobs.toml"]),
    ("milkmobs.toml", "backend = memory\n", {}, ["milkmobs.toml", "not valid TOML"]),
    (".env", "MILKMOBS_LOCAL__WORKERS=none\n", {}, ["local.workers", "'none'", ".env"]),
    (".env", "MILKMOBS_BAKEND=memory\n", {}, ["MILKMOBS_BAKEND", "did you mean MILKMOBS_BACKEND", ".env"]),
    (".env", "MILKMOBS_CAMPAIGN__PASS_THRESHOLD=7\n", {}, ["campaign.pass_threshold", ".env"]),
    (None, "", {"MILKMOBS_LOCAL__WORKERS": "0"}, ["local.workers", "'0'", "the environment variable MILKMOBS_LOCAL"]),
    (".env", "MILKMOBS_AWS_REGION=eu-west-1\n", {}, ["MILKMOBS_AWS_REGION", "renamed", "MILKMOBS_AWS__REGION", ".env"]),
    ("milkmobs.toml", "workers = 3\n", {}, ["workers", "renamed", "[local] workers", "milkmobs.toml"]),
]


@pytest.mark.parametrize(
    ("file", "text", "environment", "named"), MISTAKES, ids=[m[1].strip() or str(m[2]) for m in MISTAKES]
)
def test_a_configuration_mistake_is_one_line_naming_the_setting_and_its_source(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    file: str | None,
    text: str,
    environment: dict[str, str],
    named: list[str],
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
    (workdir / "milkmobs.toml").write_text('bakend = "local"\n\n[local]\nworkers = 3\n')
    with pytest.raises(ConfigurationError, match="bakend is not a milkmobs setting"):
        Settings()
    (workdir / "milkmobs.toml").write_text("[local]\nworkers = 3\n")
    (workdir / ".env").write_text("MILKMOBS_WORKER=4\nPATH_OF_SOMETHING_ELSE=/x\n")  # others' variables are fine
    with pytest.raises(ConfigurationError, match="MILKMOBS_WORKER is not a milkmobs setting"):
        Settings()


def test_urls_made_outside_serve_point_where_serve_listens_by_default(workdir: Path) -> None:
    """A notebook's or the CLI's thumbnail and video links work against a plain `milkmobs serve`."""
    from urllib.parse import urlsplit

    from milkmobs.server.serve import ServeOptions

    serve_default = build_parser().parse_args(["serve"]).port
    assert urlsplit(Settings().http.public_base_url).port == serve_default == ServeOptions().port
