"""OpenSearchVectorIndex beyond the contract: index creation and checks, errors, client construction."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import numpy as np
import pytest
from opensearchpy import OpenSearch
from opensearchpy.helpers.signer import AWSV4SignerAuth
from tests.opensearch_double import OpenSearchTestDouble

from milkmobs.adapters.aws.clients import bedrock_config
from milkmobs.adapters.aws.factory_models import build_analyzer, build_vector_index, opensearch_client
from milkmobs.adapters.aws.opensearch import OpenSearchVectorIndex
from milkmobs.core.limits import LIMITS
from milkmobs.domain.errors import BackendUnavailableError, ConfigurationError, InvalidInputError
from milkmobs.ports import IndexedVector
from milkmobs.settings import Settings


@pytest.fixture
def double() -> Iterator[OpenSearchTestDouble]:
    with OpenSearchTestDouble() as server:
        yield server


def make(double: OpenSearchTestDouble, dimension: int = 8, **kwargs: object) -> OpenSearchVectorIndex:
    client = OpenSearch(hosts=[{"host": double.host, "port": double.port}])
    return OpenSearchVectorIndex(client, index_name="milkmobs-video-embeddings", dimension=dimension, **kwargs)  # type: ignore[arg-type]


def test_create_index_is_idempotent(double: OpenSearchTestDouble) -> None:
    assert make(double).create_index() is True
    assert make(double).create_index() is False
    creates = [r for r in double.requests if r.method == "PUT" and r.path == "/milkmobs-video-embeddings"]
    assert len(creates) == 1


def test_existing_index_of_another_dimension_is_a_configuration_error(double: OpenSearchTestDouble) -> None:
    make(double, dimension=1024).create_index()
    with pytest.raises(ConfigurationError, match=r"1024-d vectors .* 512-d"):
        make(double, dimension=512).create_index()


def test_existing_index_with_another_space_is_a_configuration_error(double: OpenSearchTestDouble) -> None:
    make(double, engine="lucene", space="cosinesimil").create_index()
    with pytest.raises(ConfigurationError, match="lucene/cosinesimil"):
        make(double, engine="faiss", space="innerproduct").create_index()


def test_first_use_creates_the_index(double: OpenSearchTestDouble) -> None:
    index = make(double)
    index.upsert(IndexedVector("v1", np.ones(8, dtype=np.float32), status="validated"))
    assert index.count() == 1
    assert make(double, create_if_missing=False).count() == 1


def test_non_unit_vectors_are_normalised_so_scores_stay_cosines(double: OpenSearchTestDouble) -> None:
    index = make(double, space="l2")
    index.upsert(IndexedVector("long", np.full(8, 3.0, dtype=np.float32), status="validated"))
    got = index.get_vector("long")
    assert got is not None and float(np.linalg.norm(got)) == pytest.approx(1.0, abs=1e-6)
    (hit,) = index.search(np.full(8, 0.1, dtype=np.float32), k=1)
    assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_zero_vectors_and_bad_k_are_refused(double: OpenSearchTestDouble) -> None:
    index = make(double)
    with pytest.raises(InvalidInputError):
        index.upsert(IndexedVector("zero", np.zeros(8, dtype=np.float32), status="validated"))
    with pytest.raises(InvalidInputError):
        index.search(np.zeros(8, dtype=np.float32), k=1)
    with pytest.raises(InvalidInputError):
        index.search(np.ones(8, dtype=np.float32), k=0)


def test_bulk_rejections_are_reported_not_swallowed(double: OpenSearchTestDouble) -> None:
    make(double, dimension=4).create_index()  # someone else made a 4-d index; this client skips the check
    index = make(double, dimension=8, create_if_missing=False)
    with pytest.raises(InvalidInputError, match="2 of 2 vectors failed"):
        index.upsert_many([IndexedVector(f"v{i}", np.ones(8, dtype=np.float32), status="validated") for i in range(2)])


def test_unreachable_cluster_is_backend_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    client = OpenSearch(hosts=[{"host": "127.0.0.1", "port": port}], max_retries=0, timeout=2)
    index = OpenSearchVectorIndex(client, index_name="x", dimension=4)
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        index.count()


def test_drop_index_removes_everything(double: OpenSearchTestDouble) -> None:
    index = make(double)
    index.create_index()
    assert index.drop_index() is True
    assert index.drop_index() is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"engine": "nmslib"}, "nmslib is deprecated"),
        ({"engine": "faiss", "space": "l1"}, "not available"),
        ({"dimension": 0}, "positive"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"index_name": "x", "dimension": 4, **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        OpenSearchVectorIndex(None, **args)  # type: ignore[arg-type]


def _auth(client: OpenSearch) -> object:
    return client.transport.connection_pool.connections[0].session.auth  # type: ignore[attr-defined]


def test_aws_domains_are_signed_with_sigv4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = opensearch_client(Settings(opensearch={"endpoint": "search-vids-abc123.eu-west-1.es.amazonaws.com"}))
    auth = _auth(client)
    assert isinstance(auth, AWSV4SignerAuth)
    assert auth.signer.region == "eu-west-1" and auth.service == "es"
    serverless = opensearch_client(Settings(opensearch={"endpoint": "https://abc.us-east-1.aoss.amazonaws.com"}))
    assert _auth(serverless).service == "aoss"  # type: ignore[attr-defined]


def test_local_clusters_use_basic_auth_or_none() -> None:
    basic = Settings(opensearch={"endpoint": "http://localhost:9200", "username": "admin", "password": "pw"})
    assert _auth(opensearch_client(basic)) == ("admin", "pw")
    assert _auth(opensearch_client(Settings(opensearch={"endpoint": "http://localhost:9200"}))) is None
    with pytest.raises(ConfigurationError, match="USERNAME"):
        opensearch_client(Settings(opensearch={"endpoint": "http://localhost:9200", "auth": "basic"}))
    with pytest.raises(ConfigurationError, match="MILKMOBS_OPENSEARCH__ENDPOINT"):
        opensearch_client(Settings())


def test_factory_names_the_index_by_prefix_and_takes_the_model_dimension(double: OpenSearchTestDouble) -> None:
    settings = Settings(opensearch={"endpoint": double.url, "index_prefix": "prod-a-"})
    index = build_vector_index(settings)
    assert index.index_name == "prod-a-video-embeddings" and index.dimension == 512
    marengo_27 = Settings(
        opensearch={"endpoint": double.url}, models={"marengo_model_id": "twelvelabs.marengo-embed-2-7-v1:0"}
    )
    assert build_vector_index(marengo_27).dimension == 1024


def test_factory_builds_the_analyzer_without_calling_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    analyzer = build_analyzer(Settings(aws={"region": "eu-west-1", "media_bucket_owner": "210987654321"}))
    assert analyzer.insights_model_id == "twelvelabs.pegasus-1-2-v1:0"
    assert analyzer.embedding_dimension == 512
    config = analyzer._runtime.meta.config  # type: ignore[attr-defined]
    # the one client configuration, with Bedrock's own (longer) budget of tries
    assert config.read_timeout == LIMITS.bedrock_read_timeout_seconds and config.retries == bedrock_config().retries
    assert config.retries["total_max_attempts"] == LIMITS.bedrock_call_attempts
    assert analyzer._runtime.meta.region_name == "eu-west-1"  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError):
        build_analyzer(Settings(models={"embedding_dimension": 1024}))


def test_sigv4_requests_reach_the_wire_signed(double: OpenSearchTestDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    settings = Settings(opensearch={"endpoint": double.url, "auth": "sigv4"}, aws={"region": "eu-west-1"})
    build_vector_index(settings, dimension=4).count()
    assert double.requests
    for request in double.requests:
        authorization = request.headers["authorization"]
        assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-1/es/aws4_request" in authorization
        assert "x-amz-date" in request.headers
