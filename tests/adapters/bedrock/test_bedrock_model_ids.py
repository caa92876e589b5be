"""Model-id routing and Marengo output normalisation, as plain functions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from milkmobs.adapters.aws.bedrock.marengo import MarengoOutputError, output_segments, video_vector
from milkmobs.adapters.aws.bedrock.models import (
    base_model_id,
    inference_profile_id,
    marengo_spec,
    marengo_text_model_id,
)

PEGASUS = "twelvelabs.pegasus-1-2-v1:0"
M30 = "twelvelabs.marengo-embed-3-0-v1:0"
M27 = "twelvelabs.marengo-embed-2-7-v1:0"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", f"us.{PEGASUS}"),
        ("us-west-2", f"us.{PEGASUS}"),
        ("eu-west-1", f"eu.{PEGASUS}"),
        ("eu-central-1", f"eu.{PEGASUS}"),
        ("ap-northeast-2", f"apac.{PEGASUS}"),
        ("ap-southeast-2", f"global.{PEGASUS}"),
        ("ca-central-1", f"global.{PEGASUS}"),
    ],
)
def test_pegasus_profile_by_region(region: str, expected: str) -> None:
    assert inference_profile_id(PEGASUS, region) == expected
    assert base_model_id(expected) == PEGASUS


@pytest.mark.parametrize(
    ("model_id", "region", "expected"),
    [
        (M30, "us-east-1", M30),  # base id allowed for InvokeModel there
        (M30, "ap-northeast-2", M30),
        (M30, "eu-west-1", f"eu.{M30}"),  # profiles only
        (M27, "us-east-1", f"us.{M27}"),  # 2.7 InvokeModel: profiles only
        (M27, "ap-northeast-2", f"apac.{M27}"),
        (f"us.{M30}", "us-east-1", f"us.{M30}"),  # an explicit profile is kept
    ],
)
def test_marengo_text_model_id(model_id: str, region: str, expected: str) -> None:
    assert marengo_text_model_id(model_id, region) == expected


def test_generation_from_the_model_id() -> None:
    assert marengo_spec(M30).native_dimension == 512
    assert marengo_spec(f"eu.{M30}").native_dimension == 512
    assert marengo_spec(M27).native_dimension == 1024


@pytest.mark.parametrize(
    "payload",
    [
        {"data": [{"embedding": [1.0, 0.0]}]},
        {"data": {"embedding": [1.0, 0.0]}},
        {"embeddings": [{"embedding": [1.0, 0.0]}]},
        {"embedding": [1.0, 0.0]},
        [{"embedding": [1.0, 0.0]}],
    ],
)
def test_every_documented_wrapping_is_understood(payload: object) -> None:
    (segment,) = output_segments(json.dumps(payload))
    assert segment["embedding"] == [1.0, 0.0]


@pytest.mark.parametrize("raw", ["not json", "{}", '{"data": []}', '{"data": [{"vector": [1]}]}'])
def test_output_without_a_vector_is_an_error(raw: str) -> None:
    with pytest.raises(MarengoOutputError):
        output_segments(raw)


@given(
    clips=st.lists(
        st.lists(st.floats(min_value=-10, max_value=10, allow_nan=False), min_size=4, max_size=4),
        min_size=1,
        max_size=6,
    )
)
def test_pooled_video_vector_is_unit_length_or_refused(clips: list[list[float]]) -> None:
    segments = [{"embeddingOption": "visual", "embeddingScope": "clip", "embedding": c} for c in clips]
    try:
        vector = video_vector(segments, option="visual", dimension=4)
    except MarengoOutputError:
        return  # a zero clip or clips that cancel out: refused, never a made-up vector
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)


def test_the_asset_vector_wins_over_the_clips() -> None:
    segments = [
        {"embeddingOption": "visual", "embeddingScope": "clip", "embedding": [1.0, 0.0]},
        {"embeddingOption": "visual", "embeddingScope": "asset", "embedding": [0.0, 2.0]},
        {"embeddingOption": "audio", "embeddingScope": "asset", "embedding": [3.0, 0.0]},
    ]
    np.testing.assert_allclose(video_vector(segments, option="visual", dimension=2), [0.0, 1.0])
