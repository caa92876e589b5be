"""OpenSearch sizing from the expected number of vectors (a stack prop; docs/capacity.md)."""

from __future__ import annotations

import pytest
from milkmobs_infra.config import DeployConfig
from milkmobs_infra.sizing import GIB, disk_gb_per_copy, graph_bytes_per_copy, plan, volume_for


def test_the_rule_of_thumb_gives_about_2_4_gb_per_copy_at_a_million_512_d_vectors() -> None:
    assert disk_gb_per_copy(1_000_000, 512) == pytest.approx(2.25, abs=0.01)
    assert graph_bytes_per_copy(1_000_000, 512, bytes_per_dimension=4) / GIB == pytest.approx(2.23, abs=0.01)
    assert graph_bytes_per_copy(1_000_000, 512) / GIB == pytest.approx(1.18, abs=0.01)  # fp16 graphs


def test_the_graphs_are_sized_for_the_encoding_the_index_is_created_with() -> None:
    """The stack sizes the nodes for 2-byte graph vectors because the index the deployment creates
    (default settings, faiss) asks faiss for its fp16 scalar quantizer."""
    from milkmobs_infra.sizing import GRAPH_BYTES_PER_DIMENSION

    from milkmobs.adapters.aws.factory_models import build_vector_index
    from milkmobs.settings import Settings

    index = build_vector_index(Settings(opensearch={"endpoint": "https://search.invalid:443"}), dimension=512)
    encoder = index.index_body()["mappings"]["properties"]["embedding"]["method"]["parameters"].get("encoder")
    assert encoder == {"name": "sq", "parameters": {"type": "fp16"}}
    assert GRAPH_BYTES_PER_DIMENSION == 2


def test_expected_vectors_raise_the_volume_and_refuse_nodes_too_small_for_the_graphs() -> None:
    assert volume_for(DeployConfig()) == 20
    big = DeployConfig(
        opensearch_expected_vectors=30_000_000, opensearch_instance_type="r6g.4xlarge.search", opensearch_data_nodes=4
    )
    assert volume_for(big) == 43  # 67.6 GB per copy, two copies, 25 % headroom, over four nodes
    with pytest.raises(ValueError, match=r"need 35\.4 GiB of k-NN memory; 1 × t3.small.search have 0\.5 GiB"):
        volume_for(DeployConfig(opensearch_expected_vectors=30_000_000))


def test_the_plan_is_the_cheapest_domain_that_holds_the_graphs() -> None:
    small = plan(30_000, 512)
    assert (small.instance_type, small.data_nodes) == ("t3.small.search", 1)
    replicated = plan(3_000_000, 512, min_nodes=2)
    assert replicated.data_nodes >= 2 and replicated.replicas == 1
    assert all(p.monthly_usd >= replicated.monthly_usd for p in (plan(3_000_000, 512, min_nodes=n) for n in (3, 4)))


def test_the_re_clustering_lambda_gets_the_memory_its_videos_need() -> None:
    from milkmobs_infra.sizing import batch_memory_mb

    assert batch_memory_mb(10_000, floor_mb=512) == 576  # 52 MB of rows + 512 MB, in 64 MB steps
    assert batch_memory_mb(10_000, floor_mb=1024) == 1024  # never below the declared memory
    assert 5_000 < batch_memory_mb(1_000_000, floor_mb=512) <= 10_240
    with pytest.raises(ValueError, match="container task"):
        batch_memory_mb(10_000_000, floor_mb=512)
