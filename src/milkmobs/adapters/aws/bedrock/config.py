"""``BedrockAnalyzerConfig``: the analyzer's plain settings, checked for consistency up front."""

from __future__ import annotations

from dataclasses import dataclass

from milkmobs.adapters.aws.bedrock.models import MarengoSpec, check_pegasus_model, marengo_spec
from milkmobs.adapters.aws.bedrock.pegasus import MAX_OUTPUT_TOKENS_LIMIT
from milkmobs.domain.errors import ConfigurationError


@dataclass(frozen=True)
class BedrockAnalyzerConfig:
    """Plain settings of the analyzer (the composition root fills them from ``Settings``)."""

    region: str
    media_bucket: str
    pegasus_model_id: str = "twelvelabs.pegasus-1-2-v1:0"
    marengo_model_id: str = "twelvelabs.marengo-embed-3-0-v1:0"
    embedding_dimension: int | None = None  # None: the model's own (512 for 3.0, 1024 for 2.7)
    embedding_option: str | None = None  # None: "visual" (3.0) / "visual-text" (2.7)
    output_bucket: str | None = None  # None: the media bucket
    output_prefix: str = "embeddings/"
    max_output_tokens: int = 2048
    temperature: float = 0.0  # a classifier: the same video should get the same answer
    poll_interval_seconds: float = 5.0
    embedding_timeout_seconds: float = 3600.0
    check_media: bool = True  # HEAD the video before a billed call (clear errors for missing/foreign objects)

    def resolved(self) -> tuple[MarengoSpec, int, str]:
        """The Marengo generation, embedding dimension and option; ConfigurationError if inconsistent."""
        check_pegasus_model(self.pegasus_model_id)
        spec = marengo_spec(self.marengo_model_id)
        dimension = self.embedding_dimension or spec.native_dimension
        if dimension != spec.native_dimension:
            raise ConfigurationError(
                f"embedding dimension {dimension} does not match {self.marengo_model_id}, which returns "
                f"{spec.native_dimension}-d vectors (fix MILKMOBS_MODELS__EMBEDDING_DIMENSION)"
            )
        option = self.embedding_option or spec.default_option
        if option not in spec.embedding_options:
            raise ConfigurationError(
                f"embedding option {option!r} is not one of {sorted(spec.embedding_options)} "
                f"for Marengo {spec.version.value} (fix MILKMOBS_MODELS__MARENGO_EMBEDDING_OPTION)"
            )
        if not 1 <= self.max_output_tokens <= MAX_OUTPUT_TOKENS_LIMIT:
            raise ConfigurationError(
                f"max output tokens {self.max_output_tokens} is outside Pegasus's "
                f"1..{MAX_OUTPUT_TOKENS_LIMIT} (fix MILKMOBS_MODELS__ANALYSIS_MAX_OUTPUT_TOKENS)"
            )
        return spec, dimension, option
