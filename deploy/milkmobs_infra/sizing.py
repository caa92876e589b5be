"""OpenSearch sizing for a number of stored video vectors (used by the stack and by
``benchmarks/capacity.py``; docs/capacity.md explains the figures).

- Disk, per copy: vectors × dimension × 4 bytes × 1.1 (AWS's k-NN sizing rule of thumb for the
  vector field; the records themselves live in DynamoDB).
- Graph memory (HNSW, faiss), per copy: 1.1 × (b × dimension + 8 × M) bytes per vector
  (the OpenSearch k-NN documentation's estimate), b the bytes the graph keeps per dimension: 2
  for the deployed index (faiss's fp16 scalar quantizer, ``OpenSearchVectorIndex``'s default on
  faiss), 4 for 32-bit floats. It must fit in the nodes' k-NN memory: half of what the JVM heap
  leaves (the heap takes half the RAM, at most 32 GiB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from milkmobs_infra.config import DeployConfig

GIB = 1024**3
#: Instance types we size with: RAM (GiB) and the on-demand price (USD/hour, us-east-1).
INSTANCES: dict[str, tuple[int, float]] = {
    "t3.small.search": (2, 0.036),
    "t3.medium.search": (4, 0.073),
    "r6g.large.search": (16, 0.167),
    "r6g.xlarge.search": (32, 0.335),
    "r6g.2xlarge.search": (64, 0.669),
    "r6g.4xlarge.search": (128, 1.338),
}
GP3_PER_GB_MONTH = 0.122
#: Bytes per dimension in the deployed graphs: the index is created with faiss's fp16 encoder.
GRAPH_BYTES_PER_DIMENSION = 2
HOURS_PER_MONTH = 730


def disk_gb_per_copy(vectors: int, dimension: int) -> float:
    return vectors * dimension * 4 * 1.1 / 1e9


def graph_bytes_per_copy(
    vectors: int, dimension: int, hnsw_m: int = 16, bytes_per_dimension: int = GRAPH_BYTES_PER_DIMENSION
) -> float:
    return vectors * 1.1 * (bytes_per_dimension * dimension + 8 * hnsw_m)


def knn_memory_bytes(instance_type: str) -> float:
    """k-NN memory of one node: half of the RAM the JVM heap leaves."""
    ram = INSTANCES[instance_type][0] * GIB
    return (ram - min(ram / 2, 32 * GIB)) * 0.5


@dataclass(frozen=True)
class DomainPlan:
    instance_type: str
    data_nodes: int
    replicas: int
    volume_gb: int  # per node
    monthly_usd: float


def plan(
    vectors: int,
    dimension: int,
    *,
    hnsw_m: int = 16,
    headroom: float = 1.25,
    min_nodes: int = 1,
    bytes_per_dimension: int = GRAPH_BYTES_PER_DIMENSION,
) -> DomainPlan:
    """The cheapest domain (from ``INSTANCES``) of at least ``min_nodes`` that holds ``vectors``: one
    replica from two nodes up, graph memory and disk with ``headroom``, volumes of at least 10 GB."""
    best: DomainPlan | None = None
    for instance_type, (_, hourly) in INSTANCES.items():
        for nodes in range(min_nodes, 41):
            replicas = 1 if nodes >= 2 else 0
            copies = 1 + replicas
            graph = graph_bytes_per_copy(vectors, dimension, hnsw_m, bytes_per_dimension)
            if graph * copies * headroom > nodes * knn_memory_bytes(instance_type):
                continue
            volume = max(10, math.ceil(disk_gb_per_copy(vectors, dimension) * copies * headroom / nodes))
            cost = nodes * (hourly * HOURS_PER_MONTH + volume * GP3_PER_GB_MONTH)
            candidate = DomainPlan(instance_type, nodes, replicas, volume, cost)
            if best is None or candidate.monthly_usd < best.monthly_usd:
                best = candidate
            break
    if best is None:
        raise ValueError(f"no domain of up to 40 nodes holds {vectors:,} vectors of {dimension} dimensions")
    return best


def required_volume_gb(vectors: int, dimension: int, data_nodes: int, *, headroom: float = 1.25) -> int:
    """Per-node EBS volume for ``vectors`` on ``data_nodes`` (one replica from two nodes up)."""
    copies = 2 if data_nodes >= 2 else 1
    return max(10, math.ceil(disk_gb_per_copy(vectors, dimension) * copies * headroom / data_nodes))


def check_domain(vectors: int, dimension: int, *, instance_type: str, data_nodes: int, hnsw_m: int = 16) -> None:
    """ValueError when the configured nodes cannot hold the graphs of ``vectors`` (with the plan that would)."""
    if instance_type not in INSTANCES:
        return  # a type we have no figures for: the operator sized it
    copies = 2 if data_nodes >= 2 else 1
    needed = graph_bytes_per_copy(vectors, dimension, hnsw_m) * copies
    available = data_nodes * knn_memory_bytes(instance_type)
    if needed > available:
        better = plan(vectors, dimension, hnsw_m=hnsw_m, min_nodes=2)
        raise ValueError(
            f"{vectors:,} vectors of {dimension} dimensions need {needed / GIB:.1f} GiB of k-NN memory; "
            f"{data_nodes} × {instance_type} have {available / GIB:.1f} GiB. For example: "
            f"milkmobs:openSearchInstanceType={better.instance_type}, openSearchDataNodes={better.data_nodes}"
        )


def volume_for(config: DeployConfig) -> int:
    """The per-node volume the stack deploys: the configured one, raised to what the expected
    vectors need; the configured nodes are checked against the graphs' memory first."""
    vectors = config.opensearch_expected_vectors
    if vectors is None:
        return config.opensearch_volume_gb
    from milkmobs.adapters.aws.bedrock.models import marengo_spec

    dimension = config.embedding_dimension or marengo_spec(config.marengo_model_id).native_dimension
    check_domain(
        vectors, dimension, instance_type=config.opensearch_instance_type, data_nodes=config.opensearch_data_nodes
    )
    return max(config.opensearch_volume_gb, required_volume_gb(vectors, dimension, config.opensearch_data_nodes))


#: What the hourly re-clustering holds per validated video (benchmarks/capacity.py measures it:
#: the id, the mob and the embedding row twice while the matrix is built, at 512 dimensions).
BATCH_BYTES_PER_VIDEO = 4.2 * 1024
LAMBDA_MAX_MEMORY_MB = 10_240


def batch_memory_mb(videos: int, *, floor_mb: int) -> int:
    """Memory for the re-clustering Lambda holding ``videos`` (+ 512 MB for the runtime and k-means)."""
    needed = math.ceil(videos * BATCH_BYTES_PER_VIDEO * 1.25 / 2**20) + 512
    if needed > LAMBDA_MAX_MEMORY_MB:
        raise ValueError(
            f"re-clustering {videos:,} videos needs about {needed:,} MB, above Lambda's {LAMBDA_MAX_MEMORY_MB:,}: "
            "run it as a container task instead (docs/capacity.md)"
        )
    return max(floor_mb, 64 * math.ceil(needed / 64))
