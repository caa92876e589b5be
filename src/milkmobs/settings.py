"""All configuration in one pydantic-settings model, in groups.

Sources, first wins: arguments to ``Settings(...)``, ``MILKMOBS_*`` environment variables, a ``.env``
file, a ``milkmobs.toml`` file (both read from the current directory; ``MILKMOBS_ENV_FILE`` and
``MILKMOBS_CONFIG_FILE`` name others), then the defaults. A grouped setting is
``MILKMOBS_<GROUP>__<NAME>`` in the environment and ``[group] name = …`` in TOML
(``MILKMOBS_AWS__REGION``, ``[aws] region``). Each default lives here once: the core's
``CoreConfig`` has none of its own. docs/configuration.md lists every setting.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from milkmobs.core.limits import LIMITS
from milkmobs.domain.campaign import Campaign
from milkmobs.domain.errors import ConfigurationError


class Backend(StrEnum):
    MEMORY = "memory"
    LOCAL = "local"
    AWS = "aws"


def default_data_dir() -> Path:
    return Path.home() / ".milkmobs"


ENV_FILE = ".env"
CONFIG_FILE = "milkmobs.toml"
ENV_PREFIX = "MILKMOBS_"
#: Environment variables that name the two files (read when settings are built, not at import).
ENV_FILE_VARIABLE = "MILKMOBS_ENV_FILE"
CONFIG_FILE_VARIABLE = "MILKMOBS_CONFIG_FILE"
#: The value of ``aws.cursor_secret`` nobody chose; the AWS backend refuses it.
DEVELOPMENT_CURSOR_SECRET = "milkmobs-dev-cursor-secret"
#: Where ``milkmobs serve`` listens unless told otherwise; the URLs made outside it point there too.
DEFAULT_SERVE_PORT = 8080


def settings_files() -> tuple[Path, Path]:
    """The ``.env`` and ``milkmobs.toml`` files settings are read from now. A file named by its
    variable must exist (the default ones may not): a mistyped path is not an empty configuration."""
    files = []
    for variable, default in ((ENV_FILE_VARIABLE, ENV_FILE), (CONFIG_FILE_VARIABLE, CONFIG_FILE)):
        named = os.environ.get(variable)
        if named and not Path(named).is_file():
            raise ConfigurationError(f"{variable} names {named}, which is not a file")
        files.append(Path(named or default))
    return files[0], files[1]


class _Group(BaseModel):
    """A group of settings: unknown names are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class UploadSettings(_Group):
    # The timeouts are derived for these ceilings (milkmobs.core.limits): lower them, never raise them.
    max_upload_bytes: int = Field(
        default=LIMITS.max_upload_bytes,
        gt=0,
        le=LIMITS.max_upload_bytes,
        description="largest accepted upload (at most the limits table's, which the timeouts are derived for)",
    )
    max_video_seconds: int = Field(
        default=LIMITS.max_video_seconds,
        gt=0,
        le=LIMITS.max_video_seconds,
        description="longest accepted video: a longer one fails after the probe (at most the limits table's)",
    )
    upload_url_expires_seconds: int = Field(
        default=300, gt=0, le=7 * 24 * 3600, description="lifetime of a signed upload form"
    )
    read_url_expires_seconds: int = Field(default=3600, gt=0, description="lifetime of a signed media or thumbnail URL")


class ClusteringSettings(_Group):
    join_threshold: float = Field(
        default=0.75, ge=-1.0, le=1.0, description="cosine similarity a video needs to join an existing mob"
    )
    batch_k: int | None = Field(default=None, ge=1, description="mobs of a re-clustering (unset: as many as now)")
    batch_max_iter: int = Field(default=50, ge=1, description="k-means iterations of a re-clustering")
    batch_sample: int = Field(
        default=100_000, ge=1, description="past this many validated videos, k-means runs on a sample of them"
    )


class ModelSettings(_Group):
    embedding_dimension: int | None = Field(
        default=None, ge=1, description="dimension of the embeddings (unset: the analyzer's own)"
    )
    pegasus_model_id: str = Field(
        default="twelvelabs.pegasus-1-2-v1:0", description="Bedrock model id of TwelveLabs Pegasus (insights)"
    )
    marengo_model_id: str = Field(
        default="twelvelabs.marengo-embed-3-0-v1:0", description="Bedrock model id of TwelveLabs Marengo (embeddings)"
    )
    pegasus_price_per_second: float = Field(default=0.00049, ge=0, description="USD per video second (usage report)")
    marengo_price_per_second: float = Field(default=0.00070, ge=0, description="USD per video second (usage report)")
    marengo_output_prefix: str = Field(
        default="embeddings/", description="S3 prefix where Marengo's asynchronous jobs write"
    )
    bedrock_region: str | None = Field(default=None, description="Region of the Bedrock models (unset: `aws.region`)")
    analysis_max_output_tokens: int = Field(default=2048, ge=64, description="Pegasus' answer length limit")
    pegasus_temperature: float = Field(default=0.0, ge=0.0, le=1.0, description="Pegasus' sampling temperature")
    marengo_embedding_option: str | None = Field(
        default=None, description="unset: `visual` (Marengo 3.0) or `visual-text` (2.7)"
    )


class AwsSettings(_Group):
    region: str = Field(default="us-east-1", description="Region of the AWS resources")
    videos_table: str = Field(default="milkmobs-videos", description="DynamoDB table of videos")
    mobs_table: str = Field(default="milkmobs-mobs", description="DynamoDB table of mobs")
    media_bucket: str = Field(default="milkmobs-media", description="S3 bucket of uploads and thumbnails")
    media_bucket_owner: str | None = Field(
        default=None, description="expected owner account of the bucket (checked on every S3 call)"
    )
    cloudfront_domain: str | None = Field(
        default=None, description="serve media through this CloudFront domain instead of presigned S3 URLs"
    )
    cloudfront_distribution_id: str | None = Field(
        default=None, description="deleting a media object invalidates its path in this distribution"
    )
    state_machine_arn: str | None = Field(
        default=None, description="run the pipeline in this Step Functions state machine (unset: in process)"
    )
    thumbnail_function_name: str | None = Field(
        default=None, description="the generate-thumbnail function start-analysis invokes asynchronously"
    )
    cursor_secret: str = Field(
        default=DEVELOPMENT_CURSOR_SECRET,
        min_length=8,
        description="signs list cursors; the aws backend refuses this default (set it, or `cursor_secret_id`)",
    )
    cursor_secret_id: str | None = Field(
        default=None, description="Secrets Manager id of the cursor key, read once (wins over `cursor_secret`)"
    )
    media_processing: bool = Field(
        default=True, description="probe videos and cut thumbnails with ffmpeg (only where the media layer is)"
    )


class OpenSearchSettings(_Group):
    endpoint: str | None = Field(default=None, description="OpenSearch domain or collection for the k-NN index")
    index_prefix: str = Field(default="milkmobs-", description="prefix of the k-NN index name")
    engine: str = Field(default="faiss", description="`faiss` or `lucene` HNSW")
    space: str = Field(default="innerproduct", description="vector space of the k-NN index")
    hnsw_m: int = Field(default=16, ge=2, description="HNSW graph degree")
    ef_construction: int = Field(default=128, ge=2, description="HNSW build-time search width")
    ef_search: int = Field(default=128, ge=2, description="HNSW query-time search width")
    username: str | None = Field(default=None, description="basic authentication user")
    password: str | None = Field(default=None, description="basic authentication password")
    auth: str = Field(
        default="auto",
        description="`auto` (SigV4 for `*.es.amazonaws.com` and `*.aoss.amazonaws.com`), `sigv4`, `basic` or `none`",
    )
    verify_certs: bool = Field(
        default=True, description="false only for a local cluster with a self-signed certificate"
    )


class LocalSettings(_Group):
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="the local backend's directory: SQLite database, media, vector index, secret key",
    )
    workers: int = Field(default=2, ge=1, description="pipeline worker threads of `serve`")


class HttpSettings(_Group):
    public_base_url: str = Field(
        default=f"http://127.0.0.1:{DEFAULT_SERVE_PORT}",
        description="local server: where upload and media URLs point (`serve` sets it to its own address)",
    )
    admin_token: str | None = Field(
        default=None, description="bearer token of the admin routes locally (unset: `serve` makes one and prints it)"
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="origins allowed to call the API from a browser (JSON list in the environment)",
    )
    workers: int | None = Field(
        default=None, ge=1, description="HTTP worker processes of `serve` (unset: one per core, at least 2)"
    )


#: Every setting's name before the groups, and where it lives now (dotted: group.name).
RENAMED: dict[str, str] = {
    "data_dir": "local.data_dir",
    "workers": "local.workers",
    **{name: f"uploads.{name}" for name in UploadSettings.model_fields},
    "cluster_join_threshold": "clustering.join_threshold",
    "batch_cluster_k": "clustering.batch_k",
    "batch_cluster_max_iter": "clustering.batch_max_iter",
    "batch_cluster_sample": "clustering.batch_sample",
    **{name: f"models.{name}" for name in ModelSettings.model_fields},
    "aws_region": "aws.region",
    **{name: f"aws.{name}" for name in AwsSettings.model_fields if name != "region"},
    **{f"opensearch_{name}": f"opensearch.{name}" for name in OpenSearchSettings.model_fields},
    **{name: f"http.{name}" for name in ("public_base_url", "admin_token", "cors_origins")},
    "http_workers": "http.workers",
}
#: Settings that are gone, and why.
REMOVED: dict[str, str] = {
    "event_bus_name": "the EventBridge bus is always milkmobs.domain.EVENT_BUS_NAME (the stack creates it)",
}


def env_name(dotted: str) -> str:
    """``aws.region`` → ``MILKMOBS_AWS__REGION``."""
    return ENV_PREFIX + dotted.replace(".", "__").upper()


def _is_old_name(name: str) -> bool:
    """A setting's name from before the groups (renamed or removed)."""
    return name in RENAMED or name in REMOVED


def _renamed_error(old: str, where: str) -> ConfigurationError:
    if old in REMOVED:
        return ConfigurationError(f"{where}: {old} is no longer a setting: {REMOVED[old]}; remove it")
    new = RENAMED[old]
    group, name = new.split(".")
    return ConfigurationError(
        f"{where}: {old} was renamed to {new}: use {env_name(new)} in the environment or .env, "
        f"[{group}] {name} = … in milkmobs.toml, or Settings({group}={{'{name}': …}})"
    )


def _refuse_unknown(
    settings_cls: type[BaseSettings], names: Iterable[str], where: Path | str, *, prefix: str = ""
) -> None:
    """A name that is no setting (a typo, or a name from before the groups) is an error, never ignored."""
    fields = list(settings_cls.model_fields)
    unknown = sorted({name for name in names if name not in fields})
    if not unknown:
        return
    for name in unknown:
        if _is_old_name(name):
            raise _renamed_error(name, f"{where}: {(prefix + name).upper() if prefix else name}")
    shown = [f"{prefix}{name}".upper() if prefix else name for name in unknown]
    close = difflib.get_close_matches(unknown[0], fields, n=1)
    hint = f" (did you mean {(prefix + close[0]).upper() if prefix else close[0]}?)" if close else ""
    raise ConfigurationError(
        f"{where}: {', '.join(shown)} {'is' if len(shown) == 1 else 'are'} not a milkmobs setting{hint}; "
        "docs/configuration.md lists them all"
    )


def _ours(variables: Iterable[str]) -> list[str]:
    """The setting names of the ``MILKMOBS_*`` variables among ``variables`` (a group's: the group)."""
    files = {ENV_FILE_VARIABLE.lower(), CONFIG_FILE_VARIABLE.lower()}
    return [
        key.lower().removeprefix(ENV_PREFIX.lower()).split("__")[0]
        for key in variables
        if key.lower().startswith(ENV_PREFIX.lower()) and key.lower() not in files
    ]


def _refuse_old_names(init: Mapping[str, Any]) -> None:
    """The environment and the arguments may hold names from before the groups: each fails naming its new name.
    (The environment may hold other ``MILKMOBS_*`` variables: only the old names are refused there.)"""
    for name in init:
        if _is_old_name(name):
            raise _renamed_error(name, "Settings argument")
    for variable in os.environ:
        name = variable.lower().removeprefix(ENV_PREFIX.lower()) if variable.upper().startswith(ENV_PREFIX) else ""
        if _is_old_name(name):
            raise _renamed_error(name, f"environment variable {variable.upper()}")


class _CheckedToml(TomlConfigSettingsSource):
    """``milkmobs.toml`` holds settings only: every top-level key must be one."""

    def __init__(self, settings_cls: type[BaseSettings], toml_file: Path) -> None:
        try:
            super().__init__(settings_cls, toml_file=toml_file)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{toml_file}: not valid TOML ({exc})") from exc
        _refuse_unknown(settings_cls, self.toml_data, toml_file)


class _CheckedDotEnv(DotEnvSettingsSource):
    """``.env`` may hold other programs' variables too, but each ``MILKMOBS_*`` one must be a setting."""

    def __init__(self, settings_cls: type[BaseSettings], env_file: Path) -> None:
        super().__init__(settings_cls, env_file=env_file)
        _refuse_unknown(settings_cls, _ours(self.env_vars), env_file, prefix=ENV_PREFIX)


class Settings(BaseSettings):
    """Validated once in the composition root; adapters receive plain constructor arguments."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore", env_file_encoding="utf-8"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then ``.env``, then ``milkmobs.toml`` (groups are tables)."""
        _refuse_old_names(getattr(init_settings, "init_kwargs", {}))
        env_file, toml_file = settings_files()
        return (
            init_settings,
            env_settings,
            _CheckedDotEnv(settings_cls, env_file),
            _CheckedToml(settings_cls, toml_file),
        )

    backend: Backend = Field(
        default=Backend.MEMORY,
        description="where data lives: `memory` (in the process), `local` (one data directory) or `aws`",
    )
    campaign: Campaign = Field(default_factory=Campaign)
    random_seed: int = Field(default=0, description="seed of k-means and of the fake analyzer")
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    clustering: ClusteringSettings = Field(default_factory=ClusteringSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    aws: AwsSettings = Field(default_factory=AwsSettings)
    opensearch: OpenSearchSettings = Field(default_factory=OpenSearchSettings)
    local: LocalSettings = Field(default_factory=LocalSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)


#: The groups, by field name of ``Settings`` (docs, deploy and the environment checks read them).
GROUPS: dict[str, type[BaseModel]] = {
    name: annotation
    for name, field in Settings.model_fields.items()
    if isinstance(annotation := field.annotation, type) and issubclass(annotation, _Group)
}


def _source_of(field: str) -> str:
    """Which source gave ``field`` (a top-level setting or group) its value, in the order they win."""
    variable = ENV_PREFIX + field.upper()

    def sets_it(names: Iterable[str]) -> bool:  # the variable itself, or one of its group's
        return any(name.upper() == variable or name.upper().startswith(variable + "__") for name in names)

    if sets_it(os.environ):
        return f"the environment variable {variable}"
    env_file, toml_file = settings_files()
    if env_file.is_file() and sets_it(dotenv_values(env_file)):
        return f"{env_file}"
    if toml_file.is_file() and field in tomllib.loads(toml_file.read_text(encoding="utf-8")):
        return f"{toml_file}"
    return "the arguments"


def load_settings(**values: Any) -> Settings:
    """``Settings(**values)`` for programs: a bad value, wherever it was written, is a
    ConfigurationError of one line naming the setting, the value, what is wrong and where it came from."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            source = _source_of(str(error["loc"][0])) if error["loc"] else "the settings"
            problems.append(f"{field} = {error.get('input')!r} ({source}): {error['msg']}")
        raise ConfigurationError("invalid setting " + "; ".join(problems)) from exc


@contextmanager
def recorded_reads() -> Iterator[set[str]]:
    """The settings read while inside, by dotted name (``aws.region``, ``backend``): every attribute
    read of a setting on any ``Settings`` or group object. The deploy tests hold each Lambda
    function to the settings its declaration gives it with this. It patches the classes while
    inside: one recording at a time, in tests."""
    read: set[str] = set()
    patched: list[type[BaseModel]] = []

    def record(cls: type[BaseModel], prefix: str) -> None:
        fields = frozenset(cls.model_fields) - frozenset(GROUPS)  # a group is read through its fields
        original = cls.__getattribute__

        def getattribute(self: BaseModel, name: str) -> Any:
            if name in fields:
                read.add(prefix + name)
            return original(self, name)

        patched.append(cls)
        cls.__getattribute__ = getattribute  # type: ignore[method-assign,assignment]

    record(Settings, "")
    for group, cls in GROUPS.items():
        record(cls, group + ".")
    try:
        yield read
    finally:
        for cls in patched:
            del cls.__getattribute__  # the inherited one again
