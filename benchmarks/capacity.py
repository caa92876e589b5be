"""Capacity and cost of the deployed stack at 1k, 100k and 1M videos a day (not run by CI).

    python benchmarks/capacity.py [--seconds 30] [--retention-days 90] [--sample 20000 60000]

What is measured in this run, and what is a stated assumption (docs/capacity.md has the table):

- AWS calls per video: ``benchmarks/store_ops.py`` runs here (moto, the real adapters, the same
  pipeline steps) and its per-video counts are used as they come out;
- Step Functions transitions and the workflow's Lambda invocations per video: the stack is
  synthesized here and its state machine walked for an average video (validated, the Marengo
  checks its length needs) by ``deploy/milkmobs_infra/transitions.py``, which the deploy tests hold
  against the states moto's interpreter enters for real executions;
- Lambda memory: the deployed function declarations; Lambda *durations* are assumptions (the
  model calls' from the limits table's latency estimates), printed with the table;
- OpenSearch: ``deploy/milkmobs_infra/sizing.plan`` for the vectors kept (daily × retention), with
  the graphs' encoding the index is created with (faiss fp16); the recall that encoding costs is
  measured here with faiss itself (HNSW at the index's m / ef, fp32 against fp16, against exact);
- batch re-clustering: the real ``spherical_kmeans`` and the real video records, measured on
  samples here and extrapolated linearly in the number of videos (k fixed), said so in the output.

Prices are us-east-1 on-demand list prices (see PRICES, each with its page); model prices are the
ones the library's settings use (Pegasus 1.2 $0.00049/s, Marengo 3.0 $0.0007/s of video).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # store_ops, beside this script
sys.path.insert(0, str(HERE.parent / "deploy"))  # milkmobs_infra (function declarations, sizing)

import store_ops  # noqa: E402
from milkmobs_infra.function_specs import SPECS_BY_NAME  # noqa: E402
from milkmobs_infra.sizing import GRAPH_BYTES_PER_DIMENSION, plan  # noqa: E402
from milkmobs_infra.transitions import Video as WalkedVideo  # noqa: E402
from milkmobs_infra.transitions import entered_states, lambda_invocations  # noqa: E402

from milkmobs.bootstrap import build  # noqa: E402
from milkmobs.core.clustering import spherical_kmeans  # noqa: E402
from milkmobs.core.limits import LIMITS  # noqa: E402
from milkmobs.core.mobs import _read_validated  # noqa: E402
from milkmobs.core.service import MilkMobs  # noqa: E402
from milkmobs.domain import (  # noqa: E402
    MAX_PAGE_SIZE,
    Embedding,
    Insights,
    MediaInfo,
    ScoreBreakdown,
    ValidationResult,
    Video,
    VideoStatus,
)
from milkmobs.settings import Settings  # noqa: E402

DAILY = (1_000, 100_000, 1_000_000)
DAYS_PER_MONTH = 30
DIMENSION = 512
GB = 1e9

#: USD, us-east-1 on-demand list prices (pages read 2026-12; check them for your region and date).
PRICES = {
    # https://aws.amazon.com/lambda/pricing/ (Arm)
    "lambda_gb_second": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    # https://aws.amazon.com/step-functions/pricing/ (Standard workflows)
    "sfn_transition": 0.025 / 1000,
    # https://aws.amazon.com/dynamodb/pricing/on-demand/
    "ddb_write_unit": 0.625 / 1e6,
    "ddb_read_unit": 0.125 / 1e6,
    "ddb_gb_month": 0.25,
    # https://aws.amazon.com/s3/pricing/ (Standard)
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,
    # https://aws.amazon.com/eventbridge/pricing/ (custom events)
    "eventbridge_event": 1.00 / 1e6,
    # https://aws.amazon.com/cloudwatch/pricing/ (API requests, log ingestion)
    "cloudwatch_request": 0.01 / 1000,
    "logs_gb": 0.50,
    # https://aws.amazon.com/api-gateway/pricing/ (REST)
    "apigw_request": 3.50 / 1e6,
}
#: Assumed per-video figures (not measured here: no account). Seconds per invocation at the
#: declared memory; the model waits are the limits table's latency estimates for the average video.
VIDEO_MB = 10.0  # a 30 s phone clip
THUMBNAIL_KB = 30
LOG_KB_PER_INVOCATION = 2.0
STATE_LOG_KB_PER_TRANSITION = 1.0  # execution data is left out of the logs, except errors
EMF_KB_PER_RECORD = 1.0  # Lambda publishes usage metrics as EMF log lines, not PutMetricData calls


def model_cost(seconds: float, settings: Settings) -> float:
    return seconds * (settings.models.pegasus_price_per_second + settings.models.marengo_price_per_second)


def polls_for(seconds: float) -> int:
    job = LIMITS.marengo_base_seconds + LIMITS.marengo_seconds_per_video_second * seconds
    return math.ceil(job / LIMITS.marengo_poll_interval_seconds)


def synthesized_machine() -> tuple[dict[str, Any], dict[str, str]]:
    """The stack's state machine definition as ``cdk synth`` writes it (Lambda ARNs stood in for by
    ``function:<name>``), and each function's logical id → its spec name."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import aws_cdk as cdk
    from app import build_app

    with tempfile.TemporaryDirectory() as outdir:
        app = cdk.App(outdir=outdir, context={"milkmobs:assetMode": "placeholder"})
        _, stack = build_app(app)
        app.synth()
        resources = json.loads((Path(outdir) / f"{stack.stack_name}.template.json").read_text())["Resources"]
    names = {
        lid: r["Properties"]["FunctionName"].removeprefix("milkmobs-")
        for lid, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function" and isinstance(r["Properties"].get("FunctionName"), str)
    }

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and "Fn::Join" in value:
            return "".join(str(resolve(part)) for part in value["Fn::Join"][1])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return f"arn:aws:lambda:::function:{names.get(value['Fn::GetAtt'][0], value['Fn::GetAtt'][0])}"
        if isinstance(value, dict) and "Ref" in value:
            return value["Ref"]
        return value

    (machine,) = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    return json.loads(resolve(machine["Properties"]["DefinitionString"])), names


def workflow_counts(definition: dict[str, Any], seconds: float) -> tuple[list[str], dict[str, int]]:
    """States entered and Lambda invocations per function of an average (validated) video."""
    video = WalkedVideo(checks=polls_for(seconds), validated=True)
    invoked: dict[str, int] = {}
    for resource in lambda_invocations(definition, video):
        name = resource.rsplit("function:", 1)[1]
        invoked[name] = invoked.get(name, 0) + 1
    return entered_states(definition, video), invoked


#: Seconds per invocation at the declared memory (assumed; the model waits come from the limits
#: table's latency estimates). Outside the workflow: the API calls and the upload's functions.
OUTSIDE_WORKFLOW = {"create-upload": 1, "start-analysis": 1, "generate-thumbnail": 1, "get-feed": 1}


def invocation_seconds(name: str, seconds: float) -> float:
    if name == "analysis-pegasus":
        return LIMITS.pegasus_base_seconds + LIMITS.pegasus_seconds_per_video_second * seconds + 1.0
    return {
        "create-upload": 0.3,
        "start-analysis": 0.5,
        "generate-thumbnail": 3.0,
        "analysis-mark-processing": 2.0,
        "analysis-marengo": 0.5,
        "get-feed": 0.2,
    }.get(name, 0.5)


def lambda_gb_seconds(seconds: float, invoked: dict[str, int]) -> tuple[float, int]:
    """GB-seconds and invocations of one video's functions (durations assumed, memory declared)."""
    runs = {**OUTSIDE_WORKFLOW, **invoked}
    gb_s = sum(n * invocation_seconds(name, seconds) * SPECS_BY_NAME[name].memory_mb / 1024 for name, n in runs.items())
    return gb_s, sum(runs.values())


def per_video_costs(
    seconds: float, calls: dict[str, float], read_units: float, states: int, invoked: dict[str, int]
) -> dict[str, float]:
    """USD per video, by service (OpenSearch and the batch are monthly: added per rate below)."""
    p = PRICES
    gb_s, invocations = lambda_gb_seconds(seconds, invoked)
    ddb_writes = sum(
        v for k, v in calls.items() if k in ("dynamodb.PutItem", "dynamodb.UpdateItem", "dynamodb.DeleteItem")
    )
    transactions = calls.get("dynamodb.TransactWriteItems", 0.0)
    write_units = ddb_writes * 4 + transactions * 2 * (4 + 1)  # ~4 KB records; transactions bill twice
    s3_puts = 1 + 1 + 1 + calls.get("s3.PutObject", 0.0)  # the browser's upload, thumbnail, Marengo output
    s3_gets = 2 + sum(v for k, v in calls.items() if k.startswith("s3.") and k != "s3.PutObject")  # + Bedrock's
    return {
        "Lambda": gb_s * p["lambda_gb_second"] + invocations * p["lambda_request"],
        "Step Functions": states * p["sfn_transition"],
        "DynamoDB": write_units * p["ddb_write_unit"]
        + read_units * p["ddb_read_unit"]
        + 4e-6 * p["ddb_gb_month"],  # one month of a 4 KB record
        "S3": s3_puts * p["s3_put"]
        + s3_gets * p["s3_get"]
        + (VIDEO_MB / 1000 + THUMBNAIL_KB / 1e6) * p["s3_gb_month"],  # one month of the media
        "EventBridge": (1 + calls.get("events.PutEvents", 0.0)) * p["eventbridge_event"],
        # store_ops runs in process (PutMetricData); in Lambda the same metrics are EMF log lines
        "CloudWatch": (
            calls.get("cloudwatch.PutMetricData", 0.0) * EMF_KB_PER_RECORD
            + invocations * LOG_KB_PER_INVOCATION
            + states * STATE_LOG_KB_PER_TRANSITION
        )
        / 1e6
        * p["logs_gb"],
        "API Gateway": 2 * p["apigw_request"],  # submit, one feed page
    }


# --- batch re-clustering -------------------------------------------------------------------------------
def _mixture(n: int, clusters: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIMENSION)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(clusters, size=n)] + rng.standard_normal((n, DIMENSION)).astype(np.float32) * 0.066
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def kmeans_sample(n: int, k: int) -> tuple[float, int]:
    """Seconds and peak traced bytes of the real spherical k-means on ``n`` vectors."""
    x = _mixture(n, k)
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    spherical_kmeans(x, k, max_iter=Settings().clustering.batch_max_iter, seed=0)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak + x.nbytes


def _stored_app(n: int) -> MilkMobs:
    """A memory-backed app holding ``n`` validated videos with 512-d embeddings and realistic records."""
    app = build(Settings(backend="memory", models={"embedding_dimension": DIMENSION}), background=False)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    rng = np.random.default_rng(1)
    insights = Insights(
        participation_score=0.8,
        product_shown=True,
        product_mentioned=True,
        action_aligned=True,
        on_screen_text=["GOT MILK?"],
        objects=["glass", "milk carton", "table"],
        actions=["drinking milk", "smiling"],
        scenes=["kitchen", "morning light"],
        rationale="A person pours a glass of milk in a kitchen and drinks it, smiling. " * 3,
    )
    for i in range(n):
        vector = rng.standard_normal(DIMENSION).astype(np.float32)
        app.ports.videos.add(
            Video(
                video_id=f"{i:032x}",
                user_id=f"user{i % 500}",
                title=f"My milk moment {i}",
                hashtags=["gotmilk", "milkmob"],
                media_key=f"vid_{i:032x}.mp4",
                created_at=at,
                updated_at=at,
                mob_id="m" * 32,
                insights=insights,
                status=VideoStatus.VALIDATED,
                media=MediaInfo(duration_seconds=30.0, width=1080, height=1920, has_audio=True, size_bytes=10_000_000),
                validation=ValidationResult(
                    video_id=f"{i:032x}",
                    score=0.8,
                    passed=True,
                    reasons=["product shown", "hashtag #gotmilk"],
                    breakdown=ScoreBreakdown(visual=0.9, audio=0.7, ocr=1.0, hashtags=1.0),
                ),
                embedding=Embedding.create(vector, model_id="twelvelabs.marengo-embed-3-0-v1:0", dimension=DIMENSION),
            )
        )
    return app


def held_bytes(app: MilkMobs, n: int) -> tuple[float, float, float]:
    """Bytes per video the batch holds (the real reader: id, mob, embedding row), extra bytes per
    sampled video (its naming features), and for comparison one whole record once read."""

    def traced(fn: Any) -> float:
        gc.collect()
        tracemalloc.start()
        kept = fn()
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del kept
        return held / n

    def read(sample: int) -> Any:
        return _read_validated(app.ports, sample=sample, rng=np.random.default_rng(0))

    rows = traced(lambda: (lambda kept: (kept, kept.matrix()))(read(0)))  # the rows, then the matrix beside them
    with_features = traced(lambda: read(n))
    rows_only = traced(lambda: read(0))
    docs = [v.model_dump_json() for v in app.ports.videos.list_by_status(VideoStatus.VALIDATED, limit=n).items]
    record = traced(lambda: [Video.model_validate_json(d) for d in docs]) * n / len(docs)
    return rows, with_features - rows_only, record


def assign_seconds_per_video(k: int, n: int = 100_000) -> float:
    x = _mixture(n, k)
    centroids = x[:k].copy()
    started = time.perf_counter()
    for start in range(0, n, 65_536):
        np.argmax(x[start : start + 65_536] @ centroids.T, axis=1)
    return (time.perf_counter() - started) / n


def index_parameters() -> tuple[int, int, int]:
    """m, ef_construction and ef_search of the index the deployment creates (default settings)."""
    from milkmobs.adapters.aws.factory_models import build_vector_index

    deployed = build_vector_index(Settings(opensearch={"endpoint": "https://search.invalid:443"}), dimension=DIMENSION)
    index = deployed.index_body()
    parameters = index["mappings"]["properties"]["embedding"]["method"]["parameters"]
    return (
        int(parameters["m"]),
        int(parameters["ef_construction"]),
        int(index["settings"]["index"].get("knn.algo_param.ef_search", 100)),
    )


def fp16_recall(
    x: np.ndarray, *, m: int, ef_construction: int, ef_search: int, queries: int = 200, k: int = 10
) -> tuple[float, float]:
    """recall@k of faiss HNSW with 32-bit and with fp16 (scalar-quantized) graph vectors, inner
    product on unit vectors as the index scores them, against exact search; the last ``queries``
    rows of ``x`` are the queries."""
    import faiss

    base, probes = x[:-queries], x[-queries:]
    exact = np.argsort(-(probes @ base.T), axis=1)[:, :k]
    found = []
    for index in (
        faiss.IndexHNSWFlat(DIMENSION, m, faiss.METRIC_INNER_PRODUCT),
        faiss.IndexHNSWSQ(DIMENSION, faiss.ScalarQuantizer.QT_fp16, m, faiss.METRIC_INNER_PRODUCT),
    ):
        index.hnsw.efConstruction = ef_construction
        index.train(base)
        index.add(base)
        index.hnsw.efSearch = ef_search
        _, got = index.search(probes, k)
        found.append(float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact, got, strict=True)])))
    return found[0], found[1]


LAMBDA_MEMORY_BYTES = 10_240 * 2**20
LAMBDA_SECONDS = 900
READ_MB_PER_SECOND = 25.0  # one Query stream on the byStatus index, 1 MB pages (assumed)
ITEM_KB = 4.0  # a validated record with its embedding, as stored
MOVED_SHARE, MOVE_SECONDS = 0.01, 0.010  # videos moved per hourly run, and one move's writes (assumed)
# The run rewrites every index row (restartability) in bulk requests of MAX_PAGE_SIZE rows, and
# then recounts each mob from its members (a second read of every record).
BULK_SECONDS = 0.030  # one _bulk of 100 vectors (assumed)


def batch_table(samples: list[int], k: int, sample_size: int) -> list[str]:
    lines: list[str] = []
    measured = []
    for n in samples:
        t, m = kmeans_sample(n, k)
        measured.append((n, t, m))
        lines.append(f"  measured: k-means of {n:>7,} x {DIMENSION} (k={k}): {t:6.2f} s, peak {m / 2**20:7.1f} MiB")
    (n1, t1, _), (n2, t2, _) = measured[0], measured[-1]
    kmeans_per_video = (t2 - t1) / (n2 - n1) if n2 > n1 else t2 / n2
    kmeans_at_sample = max(t2 + (sample_size - n2) * kmeans_per_video, 0.0)
    app = _stored_app(2_000)
    try:
        row_bytes, feature_bytes, record = held_bytes(app, 2_000)
    finally:
        app.close()
    assign = assign_seconds_per_video(k)
    lines.append(
        f"  measured: the batch holds {row_bytes / 1024:.2f} KiB per video (id, mob, embedding row) and "
        f"{feature_bytes / 1024:.2f} KiB more per sampled video; a whole record read back would be "
        f"{record / 1024:.1f} KiB"
    )
    lines.append(f"  measured: assigning a video to the nearest of {k} centroids: {assign * 1e6:.1f} us")
    lines.append(
        f"  extrapolated: k-means on the {sample_size:,}-video sample: {kmeans_at_sample:.0f} s "
        "(linear in videos from the two measured sizes, k fixed)"
    )
    lines.append(
        f"  assumed: DynamoDB read {READ_MB_PER_SECOND:.0f} MB/s of {ITEM_KB:.0f} KB items (twice: the run "
        "and "
        f"the recount); {MOVED_SHARE:.0%} of videos move per run at {MOVE_SECONDS * 1000:.0f} ms each; every "
        f"index row rewritten in _bulk requests of {MAX_PAGE_SIZE} at {BULK_SECONDS * 1000:.0f} ms"
    )
    lines.append(
        f"  {'videos':>12} {'memory GiB':>11} {'read s':>8} {'k-means s':>10} {'assign s':>9} {'moves s':>8} "
        f"{'index s':>8} {'total s':>8}  one Lambda (10 GB, 15 min)?"
    )
    for videos in (1_000_000, 10_000_000):
        memory = videos * row_bytes + min(videos, sample_size) * feature_bytes + sample_size * DIMENSION * 4 * 3
        read_s = videos * ITEM_KB / 1024 / READ_MB_PER_SECOND
        km = kmeans_at_sample if videos > sample_size else videos * kmeans_per_video
        assign_s = videos * assign if videos > sample_size else 0.0
        moves = videos * MOVED_SHARE * MOVE_SECONDS
        index_s = videos / MAX_PAGE_SIZE * BULK_SECONDS
        total = 2 * read_s + km + assign_s + moves + index_s
        fits = memory <= 0.9 * LAMBDA_MEMORY_BYTES and total <= 0.9 * LAMBDA_SECONDS
        lines.append(
            f"  {videos:>12,} {memory / 2**30:>11.1f} {2 * read_s:>8.0f} {km:>10.0f} {assign_s:>9.0f} "
            f"{moves:>8.0f} {index_s:>8.0f} {total:>8.0f}  {'yes' if fits else 'NO'}"
        )
    per_video_s = (
        2 * ITEM_KB / 1024 / READ_MB_PER_SECOND + assign + MOVED_SHARE * MOVE_SECONDS + BULK_SECONDS / MAX_PAGE_SIZE
    )
    by_time = (0.9 * LAMBDA_SECONDS - kmeans_at_sample) / per_video_s
    by_memory = (0.9 * LAMBDA_MEMORY_BYTES - sample_size * (feature_bytes + DIMENSION * 12)) / row_bytes
    lines.append(
        f"  one Lambda holds the batch up to about {min(by_time, by_memory):,.0f} validated videos "
        f"(time allows {by_time:,.0f}, memory {by_memory:,.0f})"
    )
    full_kmeans = 1_000_000 * kmeans_per_video
    lines.append(
        f"  before (every record held, k-means on all): 1,000,000 videos would hold "
        f"{1_000_000 * (record + 4 * DIMENSION) / 2**30:.1f} GiB and spend {full_kmeans:.0f} s in k-means "
        "alone"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="average video length")
    parser.add_argument("--retention-days", type=int, default=90, help="days of vectors the index keeps")
    parser.add_argument("--sample", type=int, nargs=2, default=[20_000, 60_000], help="k-means sample sizes")
    parser.add_argument("--k", type=int, default=200, help="mobs (k) of the batch re-clustering")
    parser.add_argument("--measured", type=int, default=20, help="videos store_ops runs through the pipeline")
    parser.add_argument("--recall-vectors", type=int, default=10_000, help="vectors of the fp16 recall check")
    args = parser.parse_args(argv)
    settings = Settings()

    store_ops.install_recorder()
    store_ops.patch_moto_transactions()
    ops = store_ops.measure(1_000, args.measured)
    calls = ops.per_video_calls
    print(
        f"AWS calls per video, measured by benchmarks/store_ops.py in this run ({args.measured} videos, "
        f"1,000 stored): {sum(calls.values()):.1f}"
    )
    print("  " + ", ".join(f"{name} {count:.2f}" for name, count in sorted(calls.items())))
    polls = polls_for(args.seconds)
    definition, _ = synthesized_machine()
    entered, invoked = workflow_counts(definition, args.seconds)
    gb_s, invocations = lambda_gb_seconds(args.seconds, invoked)
    print(
        f"Step Functions (the synthesized state machine, walked): {len(entered)} states entered per validated "
        f"video ({polls} Marengo checks for a {args.seconds:.0f} s video):"
    )
    print("  " + " > ".join(entered))
    print(f"Lambda: {gb_s:.1f} GB-s in {invocations} invocations (durations assumed, memory declared)")

    model = model_cost(args.seconds, settings)
    costs = per_video_costs(args.seconds, calls, ops.read_units_estimate, len(entered), invoked)
    models = settings.models
    print(
        f"\nModel cost per {args.seconds:.0f} s video: ${model:.5f} "
        f"(Pegasus ${models.pegasus_price_per_second}/s + Marengo ${models.marengo_price_per_second}/s)"
    )
    header = f"{'USD per video':24}" + "".join(f"{f'{d:,}/day':>14}" for d in DAILY)
    print(header)
    domains = []
    totals = [0.0 for _ in DAILY]
    for service, usd in costs.items():
        print(f"{service:24}" + "".join(f"{usd:>14.6f}" for _ in DAILY))
        totals = [t + usd for t in totals]
    per_video_os = []
    fp32_domains = []
    for daily in DAILY:
        vectors = daily * args.retention_days
        domain = plan(vectors, DIMENSION, min_nodes=1 if daily < 10_000 else 2)
        domains.append(domain)
        fp32_domains.append(plan(vectors, DIMENSION, min_nodes=1 if daily < 10_000 else 2, bytes_per_dimension=4))
        per_video_os.append(domain.monthly_usd / (daily * DAYS_PER_MONTH))
    print(f"{'OpenSearch':24}" + "".join(f"{c:>14.6f}" for c in per_video_os))
    totals = [t + c for t, c in zip(totals, per_video_os, strict=True)]
    print(f"{'infrastructure':24}" + "".join(f"{t:>14.6f}" for t in totals))
    print(f"{'model (Bedrock)':24}" + "".join(f"{model:>14.6f}" for _ in DAILY))
    print(f"{'infrastructure / model':24}" + "".join(f"{t / model:>13.1%} " for t in totals))
    print(f"\n{'USD per month':24}" + "".join(f"{f'{d:,}/day':>14}" for d in DAILY))
    for service, usd in costs.items():
        print(f"{service:24}" + "".join(f"{usd * d * DAYS_PER_MONTH:>14,.0f}" for d in DAILY))
    print(f"{'OpenSearch':24}" + "".join(f"{dom.monthly_usd:>14,.0f}" for dom in domains))
    print(
        f"{'infrastructure':24}"
        + "".join(f"{t * d * DAYS_PER_MONTH:>14,.0f}" for t, d in zip(totals, DAILY, strict=True))
    )
    print(f"{'model (Bedrock)':24}" + "".join(f"{model * d * DAYS_PER_MONTH:>14,.0f}" for d in DAILY))
    m, ef_construction, ef_search = index_parameters()
    print(
        f"\nOpenSearch ({args.retention_days} days of vectors kept, {DIMENSION}-d, HNSW m={m}, graphs in "
        f"{8 * GRAPH_BYTES_PER_DIMENSION}-bit floats (faiss sq fp16); stack props "
        "milkmobs:openSearchExpectedVectors / InstanceType / DataNodes):"
    )
    for daily, dom, fp32 in zip(DAILY, domains, fp32_domains, strict=True):
        vectors = daily * args.retention_days
        print(
            f"  {daily:>9,}/day: {vectors:>12,} vectors, {vectors * DIMENSION * 4 * 1.1 / GB:7.1f} GB per copy -> "
            f"{dom.data_nodes} x {dom.instance_type}, {dom.replicas} replica, {dom.volume_gb} GB gp3 each "
            f"(fp32 graphs: {fp32.data_nodes} x {fp32.instance_type}, ${fp32.monthly_usd:,.0f}/month)"
        )
    n = args.recall_vectors
    rng = np.random.default_rng(3)
    uniform = rng.standard_normal((n + 200, DIMENSION)).astype(np.float32)
    uniform /= np.linalg.norm(uniform, axis=1, keepdims=True)
    print(
        f"  measured: recall@10 of faiss HNSW (m={m}, ef_construction={ef_construction}, ef_search={ef_search}) "
        f"against exact search, {n:,} unit {DIMENSION}-d vectors + 200 queries:"
    )
    for label, vectors in (("clustered (200 mobs)", _mixture(n + 200, 200, seed=2)), ("uniform", uniform)):
        recall32, recall16 = fp16_recall(vectors, m=m, ef_construction=ef_construction, ef_search=ef_search)
        print(f"    {label:21} fp32 graphs {recall32:.4f}, fp16 graphs {recall16:.4f}")
    goal = totals[1] / model
    print(
        f"\nGoal: infrastructure <= 5% of model cost per video at 100k/day: {goal:.1%} -> "
        f"{'met' if goal <= 0.05 else 'NOT met'}"
    )
    print(f"\nBatch re-clustering (hourly), k = {args.k}:")
    for line in batch_table(sorted(args.sample), args.k, settings.clustering.batch_sample):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
