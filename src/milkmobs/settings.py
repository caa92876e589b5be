"""All configuration in one pydantic-settings model.

Sources, first wins: arguments to ``Settings(...)``, ``MILKMOBS_*`` environment variables, a ``.env``
file, a ``milkmobs.toml`` file (both read from the current directory; ``MILKMOBS_ENV_FILE`` and
``MILKMOBS_CONFIG_FILE`` name others), then the defaults. docs/configuration.md lists every setting.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import Field, ValidationError
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
#: Environment variables that name the two files (read when settings are built, not at import).
ENV_FILE_VARIABLE = "MILKMOBS_ENV_FILE"
CONFIG_FILE_VARIABLE = "MILKMOBS_CONFIG_FILE"
ENV_PREFIX = "MILKMOBS_"
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


def _refuse_unknown(settings_cls: type[BaseSettings], names: Iterable[str], where: Path, *, prefix: str = "") -> None:
    """A name that is no setting (a typo) in one of our files is an error, never silently ignored."""
    fields = list(settings_cls.model_fields)
    unknown = sorted({name for name in names if name not in fields})
    if not unknown:
        return
    shown = [f"{prefix}{name}".upper() if prefix else name for name in unknown]
    close = difflib.get_close_matches(unknown[0], fields, n=1)
    hint = f" (did you mean {(prefix + close[0]).upper() if prefix else close[0]}?)" if close else ""
    raise ConfigurationError(
        f"{where}: {', '.join(shown)} {'is' if len(shown) == 1 else 'are'} not a milkmobs setting{hint}; "
        "docs/configuration.md lists them all"
    )


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
        ours = [key.lower().removeprefix(ENV_PREFIX.lower()).split("__")[0] for key in self.env_vars
                if key.lower().startswith(ENV_PREFIX.lower())]
        files = {ENV_FILE_VARIABLE.lower(), CONFIG_FILE_VARIABLE.lower()}
        _refuse_unknown(settings_cls, [name for name in ours if ENV_PREFIX.lower() + name not in files], env_file,
                        prefix=ENV_PREFIX)


class Settings(BaseSettings):
    """Validated once in the composition root; adapters receive plain constructor arguments.

    Nested values (``campaign``, ``cors_origins``) are read from JSON in the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix="MILKMOBS_", env_nested_delimiter="__", extra="ignore", env_file_encoding="utf-8"
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
        """Arguments, then the environment, then ``.env``, then ``milkmobs.toml`` (keys are field names)."""
        env_file, toml_file = settings_files()
        return (
            init_settings,
            env_settings,
            _CheckedDotEnv(settings_cls, env_file),
            _CheckedToml(settings_cls, toml_file),
        )

    backend: Backend = Backend.MEMORY
    data_dir: Path = Field(default_factory=default_data_dir)

    # uploads
    # The timeouts are derived for these ceilings (milkmobs.core.limits): lower them, never raise them.
    max_upload_bytes: int = Field(default=LIMITS.max_upload_bytes, gt=0, le=LIMITS.max_upload_bytes)
    max_video_seconds: int = Field(default=LIMITS.max_video_seconds, gt=0, le=LIMITS.max_video_seconds)
    upload_url_expires_seconds: int = Field(default=300, gt=0, le=7 * 24 * 3600)  # forms are short-lived
    read_url_expires_seconds: int = Field(default=3600, gt=0)
    public_base_url: str = f"http://127.0.0.1:{DEFAULT_SERVE_PORT}"  # local server: where upload/read URLs point

    # campaign and clustering
    campaign: Campaign = Field(default_factory=Campaign)
    cluster_join_threshold: float = Field(default=0.75, ge=-1.0, le=1.0)
    batch_cluster_k: int | None = Field(default=None, ge=1, description="None: as many as the current mobs")
    batch_cluster_max_iter: int = Field(default=50, ge=1)
    batch_cluster_sample: int = Field(
        default=100_000, ge=1, description="past this many validated videos, k-means runs on a sample of them"
    )
    random_seed: int = 0

    # models
    embedding_dimension: int | None = Field(default=None, ge=1, description="None: the analyzer's own")
    pegasus_model_id: str = "twelvelabs.pegasus-1-2-v1:0"
    marengo_model_id: str = "twelvelabs.marengo-embed-3-0-v1:0"
    pegasus_price_per_second: float = Field(default=0.00049, ge=0)
    marengo_price_per_second: float = Field(default=0.00070, ge=0)
    marengo_output_prefix: str = "embeddings/"
    bedrock_region: str | None = None
    analysis_max_output_tokens: int = Field(default=2048, ge=64)
    pegasus_temperature: float = Field(default=0.0, ge=0.0, le=1.0)
    marengo_embedding_option: str | None = None  # None: "visual" (Marengo 3.0) / "visual-text" (2.7)

    # AWS resources
    aws_region: str = "us-east-1"
    videos_table: str = "milkmobs-videos"
    mobs_table: str = "milkmobs-mobs"
    media_bucket: str = "milkmobs-media"
    media_bucket_owner: str | None = None
    cloudfront_domain: str | None = None
    cloudfront_distribution_id: str | None = Field(
        default=None, description="AWS: deleting a media object invalidates its path in this distribution"
    )
    event_bus_name: str = "milk-mobs-bus"
    state_machine_arn: str | None = None
    thumbnail_function_name: str | None = Field(
        default=None, description="AWS: the generate-thumbnail function start-analysis invokes asynchronously"
    )
    cursor_secret: str = Field(default="milkmobs-dev-cursor-secret", min_length=8)
    cursor_secret_id: str | None = Field(
        default=None, description="AWS: Secrets Manager id of the cursor key, read once (wins over cursor_secret)"
    )
    media_processing: bool = Field(
        default=True, description="AWS: probe videos and cut thumbnails with ffmpeg (only where the media layer is)"
    )
    opensearch_endpoint: str | None = None
    opensearch_index_prefix: str = "milkmobs-"
    opensearch_engine: str = "faiss"
    opensearch_space: str = "innerproduct"
    opensearch_hnsw_m: int = Field(default=16, ge=2)
    opensearch_ef_construction: int = Field(default=128, ge=2)
    opensearch_ef_search: int = Field(default=128, ge=2)
    opensearch_username: str | None = None
    opensearch_password: str | None = None
    opensearch_auth: str = "auto"  # auto (SigV4 for *.es/aoss.amazonaws.com) | sigv4 | basic | none
    opensearch_verify_certs: bool = True  # False only for a local cluster with a self-signed certificate

    # HTTP
    admin_token: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    workers: int = Field(default=2, ge=1)
    http_workers: int | None = Field(
        default=None, ge=1, description="HTTP worker processes of `serve` (None: one per core, at least 2)"
    )


def _source_of(field: str) -> str:
    """Which source gave ``field`` its value (the first that has it, in the order they win)."""
    variable = ENV_PREFIX + field.upper()
    if any(name.upper() == variable or name.upper().startswith(variable + "__") for name in os.environ):
        return f"the environment variable {variable}"
    env_file, toml_file = settings_files()
    if env_file.is_file() and any(
        name.upper() == variable or name.upper().startswith(variable + "__") for name in dotenv_values(env_file)
    ):
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
