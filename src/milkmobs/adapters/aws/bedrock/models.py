"""Which TwelveLabs model id to send where, and which Marengo generation a model id is.

Pegasus is always called through a cross-Region inference profile (bare model ids are only
accepted in some regions); Marengo's asynchronous video jobs take the base model id, its
text queries an inference profile (Marengo 3.0 also accepts the base id where the
documentation says so). See ``docs/bedrock.md`` for the sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from milkmobs.domain.errors import ConfigurationError

GEO_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")

#: Regions where Marengo 3.0 InvokeModel takes the base model id (AWS user guide, Marengo 3.0).
MARENGO_30_BASE_ID_INVOKE_REGIONS = frozenset({"us-east-1", "ap-northeast-2"})


def base_model_id(model_id: str) -> str:
    """``us.twelvelabs.x`` → ``twelvelabs.x``; a base id is returned unchanged."""
    for prefix in GEO_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


def geo_prefix(region: str) -> str:
    """The inference-profile prefix serving ``region`` (the mapping TwelveLabs' workshop uses)."""
    if region.startswith("us-gov-"):
        return "us-gov."
    if region.startswith("us-"):
        return "us."
    if region.startswith("eu-"):
        return "eu."
    if region == "ap-northeast-2":
        return "apac."
    return "global."


def inference_profile_id(model_id: str, region: str) -> str:
    """A cross-Region inference profile id for ``model_id`` in ``region``.

    An id that already names a profile (``us.…``, ``global.…``) is kept: it is an explicit choice.
    """
    if base_model_id(model_id) != model_id:
        return model_id
    return geo_prefix(region) + model_id


class MarengoVersion(StrEnum):
    V2_7 = "2.7"
    V3_0 = "3.0"


@dataclass(frozen=True)
class MarengoSpec:
    """What differs between Marengo generations: body layout, dimension, option names."""

    version: MarengoVersion
    native_dimension: int
    embedding_options: frozenset[str]
    default_option: str


MARENGO_SPECS = {
    MarengoVersion.V2_7: MarengoSpec(
        MarengoVersion.V2_7, 1024, frozenset({"visual-text", "visual-image", "audio"}), "visual-text"
    ),
    MarengoVersion.V3_0: MarengoSpec(
        MarengoVersion.V3_0, 512, frozenset({"visual", "audio", "transcription"}), "visual"
    ),
}


def marengo_spec(model_id: str) -> MarengoSpec:
    """The Marengo generation of ``model_id``; ConfigurationError for anything else."""
    base = base_model_id(model_id)
    if base.startswith("twelvelabs.marengo-embed-3-0"):
        return MARENGO_SPECS[MarengoVersion.V3_0]
    if base.startswith("twelvelabs.marengo-embed-2-7"):
        return MARENGO_SPECS[MarengoVersion.V2_7]
    raise ConfigurationError(
        f"unsupported embedding model id {model_id!r}: expected twelvelabs.marengo-embed-3-0-v1:0 "
        "or twelvelabs.marengo-embed-2-7-v1:0 (set MILKMOBS_MODELS__MARENGO_MODEL_ID)"
    )


def marengo_text_model_id(model_id: str, region: str) -> str:
    """The id for Marengo text InvokeModel: 2.7 only takes profiles; 3.0 also the base id in some regions."""
    spec = marengo_spec(model_id)
    if base_model_id(model_id) != model_id:
        return model_id
    if spec.version is MarengoVersion.V3_0 and region in MARENGO_30_BASE_ID_INVOKE_REGIONS:
        return model_id
    return inference_profile_id(model_id, region)


def check_pegasus_model(model_id: str) -> None:
    """ConfigurationError unless ``model_id`` is a Pegasus model."""
    if not base_model_id(model_id).startswith("twelvelabs.pegasus-"):
        raise ConfigurationError(
            f"unsupported insights model id {model_id!r}: expected twelvelabs.pegasus-1-2-v1:0 "
            "(set MILKMOBS_MODELS__PEGASUS_MODEL_ID)"
        )
