"""Builds the model-side AWS adapters from Settings: the Bedrock analyzer and the OpenSearch index.

Called by ``adapters/aws/factory.py``; the ``create-opensearch-index`` custom resource calls
:func:`build_vector_index` and then ``create_index()``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

import boto3
from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

from milkmobs.adapters.aws.bedrock import BedrockAnalyzerConfig, BedrockTwelveLabsAnalyzer
from milkmobs.adapters.aws.bedrock.models import marengo_spec
from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.opensearch import INDEX_SUFFIX, OpenSearchVectorIndex
from milkmobs.adapters.aws.opensearch.transport import BackoffTransport
from milkmobs.adapters.deferred import on_first_use
from milkmobs.core.limits import LIMITS
from milkmobs.domain.errors import ConfigurationError
from milkmobs.settings import Settings

OPENSEARCH_TIMEOUT_SECONDS = 10
#: opensearch-py's transport owns OpenSearch's throttling (429), 5xx and connection faults: it sends a
#: request again, after a backoff (``BackoffTransport``), at most this many times; what is left is a
#: BackendUnavailableError.
OPENSEARCH_MAX_RETRIES = 2
OPENSEARCH_RETRY_STATUSES = (429, 502, 503, 504)


def bedrock_region(settings: Settings) -> str:
    return settings.models.bedrock_region or settings.aws.region


def _account_id(clients: AwsClients) -> Callable[[], str]:
    """The caller's account id, looked up on first use (only when MILKMOBS_AWS__MEDIA_BUCKET_OWNER is unset)."""

    def lookup() -> str:
        return str(clients.sts().get_caller_identity()["Account"])

    return lookup


def build_analyzer(settings: Settings, *, session: boto3.session.Session | None = None) -> BedrockTwelveLabsAnalyzer:
    """The Bedrock TwelveLabs analyzer, its clients from the one client factory (botocore retries a
    call's throttling; the analyzer itself retries nothing)."""
    region = bedrock_region(settings)
    clients = AwsClients(region, session=session)
    # Built on first use: a function makes only the one its calls need (the pipeline's or the search's).
    runtime = on_first_use("Bedrock client", clients.bedrock_runtime)
    text_runtime = on_first_use("Bedrock client for the text search", clients.bedrock_runtime_for_text)
    s3 = on_first_use("S3 client", clients.s3)  # Marengo's job output: the text search never reads it
    config = BedrockAnalyzerConfig(
        region=region,
        media_bucket=settings.aws.media_bucket,
        pegasus_model_id=settings.models.pegasus_model_id,
        marengo_model_id=settings.models.marengo_model_id,
        embedding_dimension=settings.models.embedding_dimension,
        embedding_option=settings.models.marengo_embedding_option,
        output_prefix=settings.models.marengo_output_prefix,
        max_output_tokens=settings.models.analysis_max_output_tokens,
        temperature=settings.models.pegasus_temperature,
        poll_interval_seconds=float(LIMITS.marengo_poll_interval_seconds),
        embedding_timeout_seconds=float(LIMITS.marengo_job_seconds),
    )
    owner = settings.aws.media_bucket_owner or _account_id(clients)
    return BedrockTwelveLabsAnalyzer(runtime, s3, config, bucket_owner=owner, text_runtime=text_runtime)


def embedding_dimension(settings: Settings) -> int:
    """The configured dimension, or the Marengo model's own."""
    return settings.models.embedding_dimension or marengo_spec(settings.models.marengo_model_id).native_dimension


def _sigv4_service(host: str, auth: str) -> str | None:
    if auth == "sigv4":
        return "aoss" if host.endswith(".aoss.amazonaws.com") else "es"
    if auth == "auto" and host.endswith(".es.amazonaws.com"):
        return "es"
    if auth == "auto" and host.endswith(".aoss.amazonaws.com"):
        return "aoss"
    return None


def _region_of(host: str, default: str) -> str:
    """``search-x.eu-west-1.es.amazonaws.com`` → ``eu-west-1``."""
    parts = host.split(".")
    if len(parts) >= 4 and parts[-1] == "com" and parts[-2] == "amazonaws":
        return parts[-4]
    return default


def opensearch_client(settings: Settings, *, session: boto3.session.Session | None = None) -> OpenSearch:
    """An opensearch-py client: SigV4 for AWS domains, basic auth or none for a self-run cluster."""
    if not settings.opensearch.endpoint:
        raise ConfigurationError("MILKMOBS_OPENSEARCH__ENDPOINT is not set: the aws backend needs an OpenSearch domain")
    if settings.opensearch.auth not in {"auto", "sigv4", "basic", "none"}:
        raise ConfigurationError(
            f"MILKMOBS_OPENSEARCH__AUTH is {settings.opensearch.auth!r}: use auto, sigv4, basic or none"
        )
    endpoint = settings.opensearch.endpoint
    url = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    host = url.hostname or ""
    use_ssl = url.scheme == "https"
    port = url.port or (443 if use_ssl else 80)
    service = _sigv4_service(host, settings.opensearch.auth)
    http_auth: object = None
    if service:
        credentials = (session or boto3.session.Session()).get_credentials()
        if credentials is None:
            raise ConfigurationError(f"no AWS credentials to sign OpenSearch requests to {host}")
        http_auth = AWSV4SignerAuth(credentials, _region_of(host, settings.aws.region), service)
    elif settings.opensearch.auth in {"auto", "basic"} and settings.opensearch.username:
        http_auth = (settings.opensearch.username, settings.opensearch.password or "")
    elif settings.opensearch.auth == "basic":
        raise ConfigurationError("MILKMOBS_OPENSEARCH__AUTH=basic needs MILKMOBS_OPENSEARCH__USERNAME and PASSWORD")
    return OpenSearch(
        hosts=[{"host": host, "port": port}],
        http_auth=http_auth,
        use_ssl=use_ssl,
        verify_certs=use_ssl and settings.opensearch.verify_certs,
        ssl_show_warn=settings.opensearch.verify_certs,
        connection_class=RequestsHttpConnection,
        transport_class=BackoffTransport,
        timeout=OPENSEARCH_TIMEOUT_SECONDS,
        max_retries=OPENSEARCH_MAX_RETRIES,
        retry_on_status=OPENSEARCH_RETRY_STATUSES,
        retry_on_timeout=True,
    )


def build_vector_index(
    settings: Settings, *, dimension: int | None = None, session: boto3.session.Session | None = None
) -> OpenSearchVectorIndex:
    """The OpenSearch k-NN index ``<prefix>video-embeddings`` (created on first use if missing)."""
    return OpenSearchVectorIndex(
        opensearch_client(settings, session=session),
        index_name=f"{settings.opensearch.index_prefix}{INDEX_SUFFIX}",
        dimension=dimension or embedding_dimension(settings),
        engine=settings.opensearch.engine,
        space=settings.opensearch.space,
        m=settings.opensearch.hnsw_m,
        ef_construction=settings.opensearch.ef_construction,
        ef_search=settings.opensearch.ef_search,
    )
