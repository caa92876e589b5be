"""The OpenSearch k-NN vector index (see docs/opensearch.md)."""

from milkmobs.adapters.aws.opensearch.index import INDEX_SUFFIX, VECTOR_FIELD, OpenSearchVectorIndex
from milkmobs.adapters.aws.opensearch.scores import SUPPORTED_SPACES, cosine_from_score

__all__ = ["INDEX_SUFFIX", "SUPPORTED_SPACES", "VECTOR_FIELD", "OpenSearchVectorIndex", "cosine_from_score"]
