"""An OpenSearch-compatible HTTP **test double** (k-NN subset) for the adapter and contract tests."""

from tests.opensearch_double.server import OpenSearchTestDouble, RecordedRequest

__all__ = ["OpenSearchTestDouble", "RecordedRequest"]
