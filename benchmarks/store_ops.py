"""AWS store operations per video, against the original design (not run by CI).

The AWS adapters (DynamoDB, S3, EventBridge, CloudWatch) run on moto in process. The tables are
seeded with 1,000 and then 10,000 videos (BatchWriteItem, as stored by DynamoDBVideoStore), then
M fresh videos each go submit → upload → pipeline (the in-process orchestrator: the same steps the
Step Functions tasks run) → first feed page, and every AWS call the application makes is counted
with botocore's ``before-call`` event (the browser's own upload is not ours and is not counted).
Items and bytes read come from the responses; capacity units are what moto reports (moto uses
fixed figures, not item sizes, so the size-based estimate beside them is DynamoDB's own rule:
4 KB per read unit, eventually consistent reads at half price, strongly consistent at full).

The peer is the original design measured on the same table: a full-table Scan per upload (to
cluster) and per feed page. moto returns a Scan in one response; real DynamoDB cuts it into 1 MB
pages, so the Scan's call count is given as ``ceil(bytes / 1 MB)``.

    python benchmarks/store_ops.py [--sizes 1000 10000] [--measured 20]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from milkmobs.adapters.aws import dynamodb_stats as stats  # noqa: E402
from milkmobs.adapters.aws.clients import shared_session  # noqa: E402
from milkmobs.adapters.aws.dynamodb_codec import video_item  # noqa: E402
from milkmobs.adapters.aws.dynamodb_mobs import DynamoDBMobStore  # noqa: E402
from milkmobs.adapters.aws.tables import create_tables  # noqa: E402
from milkmobs.adapters.memory.analyzer import FakeAnalyzer  # noqa: E402
from milkmobs.adapters.memory.media_processor import FakeMediaProcessor  # noqa: E402
from milkmobs.adapters.memory.vector_index import InMemoryVectorIndex  # noqa: E402
from milkmobs.bootstrap import build  # noqa: E402
from milkmobs.core.views import SubmitRequest  # noqa: E402
from milkmobs.domain import EVENT_BUS_NAME, Embedding, Mob, ScoreBreakdown, ValidationResult, Video, VideoStatus  # noqa: E402
from milkmobs.domain.stats import stats_contribution  # noqa: E402
from milkmobs.settings import Backend, Settings  # noqa: E402

REGION = "us-east-1"
DIMENSION = 512
MOBS = 25
USERS = 100
VIDEOS_TABLE, MOBS_TABLE, BUCKET, BUS = "bench-videos", "bench-mobs", "bench-media", EVENT_BUS_NAME
MB = 1024 * 1024


def attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (the rules behind item size and capacity)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(inner)
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in inner.items())
    return len(str(inner))


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


@dataclass
class Recorder:
    """Counts the AWS calls (and DynamoDB items, bytes and capacity) while ``active``."""

    active: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    bytes_read: int = 0
    read_units_estimate: float = 0.0
    capacity_reported: float = 0.0

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = self.bytes_read = 0
        self.read_units_estimate = self.capacity_reported = 0.0

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if not self.active:
            return
        service = model.service_model.service_name
        self.calls[f"{service}.{model.name}"] += 1
        if service == "dynamodb" and model.name in {"GetItem", "Query", "Scan", "PutItem", "UpdateItem",
                                                    "DeleteItem", "TransactWriteItems", "BatchGetItem"}:  # fmt: skip
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def after_call(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if not self.active or model.service_model.service_name != "dynamodb":
            return
        items: list[dict[str, Any]] = []
        if "Item" in parsed:
            items = [parsed["Item"]]
        elif "Items" in parsed:
            items = parsed["Items"]
        elif "Responses" in parsed and isinstance(parsed["Responses"], dict):
            items = [i for table in parsed["Responses"].values() for i in table]
        sizes = [item_size(i) for i in items]
        self.items_read += len(items)
        self.bytes_read += sum(sizes)
        consistent = model.name in {"GetItem", "BatchGetItem"} or parsed.get("_consistent", False)
        if model.name in {"Query", "Scan"}:  # one rounding per request, eventually consistent
            self.read_units_estimate += math.ceil(sum(sizes) / 4096) * 0.5 if sizes else 0.5
        elif items:  # per item, strongly consistent (the adapters read records consistently)
            self.read_units_estimate += sum(math.ceil(s / 4096) for s in sizes) * (1.0 if consistent else 0.5)
        capacity = parsed.get("ConsumedCapacity")
        for entry in capacity if isinstance(capacity, list) else [capacity] if capacity else []:
            self.capacity_reported += float(entry.get("CapacityUnits", 0.0))


RECORDER = Recorder()


def patch_moto_transactions() -> None:
    """Stop moto from deep-copying whole tables on every TransactWriteItems.

    moto snapshots each table it touches so it can roll back a cancelled transaction: O(table
    size) per call, which would make this benchmark measure moto. Real DynamoDB does nothing of
    the kind. Here no transaction is ever cancelled (one writer, no conflicts), which the wrapper
    checks, so the snapshot is never needed.
    """
    import copy as real_copy

    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    class _NoTableCopy:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else real_copy.deepcopy(value, memo)

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        models.copy = _NoTableCopy  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except Exception as exc:
            raise RuntimeError(f"the benchmark assumes no cancelled transactions, got {exc!r}") from exc
        finally:
            models.copy = real_copy

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def install_recorder() -> None:
    events = shared_session().events
    events.register("before-call", RECORDER.before_call)
    events.register("after-call", RECORDER.after_call)


def seed(n: int) -> None:
    """``n`` stored videos (mostly validated, in 25 mobs) plus consistent mob counts and stats counters."""
    session = shared_session()
    dynamodb = session.client("dynamodb", region_name=REGION)
    rng = np.random.default_rng(n)
    start = datetime.now(UTC) - timedelta(days=30)
    mob_ids = [f"seedmob{i:02d}" for i in range(MOBS)]
    counts: Counter[str] = Counter()
    shard_totals: dict[str, dict[str, Decimal]] = {}
    requests: list[dict[str, Any]] = []
    for i in range(n):
        status = VideoStatus.VALIDATED if i % 10 < 7 else VideoStatus.REJECTED if i % 10 < 9 else VideoStatus.UPLOADED
        created = start + timedelta(seconds=i)
        vector = rng.standard_normal(DIMENSION).astype(np.float32)
        analysed = status is not VideoStatus.UPLOADED
        video = Video(
            video_id=f"seed{i:06d}",
            user_id=f"user{i % USERS}",
            title=f"seeded {i}",
            hashtags=["gotmilk", f"tag{i % 40}"],
            status=status,
            media_key=f"vid_seed{i:06d}.mp4",
            created_at=created,
            updated_at=created,
            completed_at=created + timedelta(seconds=40) if analysed else None,
            embedding=Embedding.create(vector, model_id="fake.marengo") if analysed else None,
            validation=ValidationResult(
                video_id=f"seed{i:06d}", score=0.8 if status is VideoStatus.VALIDATED else 0.3,
                passed=status is VideoStatus.VALIDATED, breakdown=ScoreBreakdown(visual=1, ocr=1, hashtags=1),
            ) if analysed else None,
            mob_id=mob_ids[i % MOBS] if status is VideoStatus.VALIDATED else None,
        )  # fmt: skip
        if video.mob_id:
            counts[video.mob_id] += 1
        shard = shard_totals.setdefault(stats.shard_id(video.video_id), {})
        for name, value in stats_contribution(video).items():
            shard[name] = shard.get(name, Decimal(0)) + value
        requests.append({"PutRequest": {"Item": video_item(video, rev=1)}})
    for first in range(0, len(requests), 25):  # BatchWriteItem takes 25 items a call
        pending: list[dict[str, Any]] = requests[first : first + 25]
        while pending:
            answer = dynamodb.batch_write_item(RequestItems={VIDEOS_TABLE: pending})
            pending = answer.get("UnprocessedItems", {}).get(VIDEOS_TABLE, [])
    for shard_id, delta in shard_totals.items():
        expression, names, values = stats.add_expression(delta)
        dynamodb.update_item(TableName=VIDEOS_TABLE, Key={"videoId": {"S": shard_id}}, UpdateExpression=expression,
                             ExpressionAttributeNames=names, ExpressionAttributeValues=values)  # fmt: skip
    mobs = DynamoDBMobStore(dynamodb, MOBS_TABLE)
    for mob_id in mob_ids:
        centroid = rng.standard_normal(DIMENSION).astype(np.float32)
        mobs.add(Mob(mob_id=mob_id, name=mob_id, centroid=centroid / np.linalg.norm(centroid),
                     video_count=counts[mob_id], created_at=start, updated_at=start))  # fmt: skip


def table_size(table_name: str) -> int:
    """Bytes of every item in a moto table, by DynamoDB's size rules (what a Scan returns)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table_name)
    return sum(item_size(item.to_json()["Attributes"]) for item in table.all_items())


@dataclass
class Measured:
    stored: int
    per_video_calls: dict[str, float]
    items_read: float
    kb_read: float
    read_units_estimate: float
    capacity_reported: float
    seconds: float
    scan_items: int = 0
    scan_kb: float = 0.0
    scan_pages: int = 0
    scan_read_units: float = 0.0


def measure(stored: int, videos: int) -> Measured:
    with mock_aws():
        session = shared_session()
        create_tables(session.client("dynamodb", region_name=REGION), videos_table=VIDEOS_TABLE, mobs_table=MOBS_TABLE)
        session.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        session.client("events", region_name=REGION).create_event_bus(Name=BUS)
        seed(stored)
        settings = Settings(
            backend=Backend.AWS,
            aws={"region": REGION, "videos_table": VIDEOS_TABLE, "mobs_table": MOBS_TABLE, "media_bucket": BUCKET,
                 "cursor_secret": "bench-cursor-secret"},
            opensearch={"endpoint": "https://opensearch.invalid:443"},
        )  # fmt: skip
        # the browser's upload goes through a client of its own: it is not the application's call
        browser = boto3.session.Session().client("s3", region_name=REGION)
        with build(
            settings,
            retry_interval_scale=0,
            wait_scale=0,
            analyzer=lambda adapters: FakeAnalyzer(adapters.media, dimension=DIMENSION),
            index=InMemoryVectorIndex(DIMENSION),
            media_processor=lambda adapters: FakeMediaProcessor(adapters.media),
        ) as app:
            RECORDER.reset()
            began = time.perf_counter()
            for i in range(videos):
                RECORDER.active = True
                body = b"GOT MILK drinking milk " + str(i).encode() * 16
                submission = app.submit_video(
                    SubmitRequest(user_id=f"user{i}", title=f"new {i}", hashtags=["gotmilk"], size_bytes=len(body))
                )
                RECORDER.active = False
                browser.put_object(Bucket=BUCKET, Key=submission.upload.fields["key"], Body=body)
                RECORDER.active = True
                app.on_object_created(submission.upload.fields["key"], len(body))  # runs the pipeline inline
                app.feed(limit=20)
                RECORDER.active = False
            elapsed = time.perf_counter() - began
            result = Measured(
                stored=stored,
                per_video_calls={name: count / videos for name, count in RECORDER.calls.items()},
                items_read=RECORDER.items_read / videos,
                kb_read=RECORDER.bytes_read / videos / 1024,
                read_units_estimate=RECORDER.read_units_estimate / videos,
                capacity_reported=RECORDER.capacity_reported / videos,
                seconds=elapsed / videos,
            )
            statuses = {v.status for v in app.ports.videos.list_by_user("user0", limit=5).items}
            assert statuses <= {VideoStatus.VALIDATED, VideoStatus.REJECTED}, statuses
        # the original design: one full Scan for clustering and one per feed page, same table.
        # moto serialises a Scan of 10,000 items slowly, so the Scan is made with Select=COUNT
        # (the same items are read) and the bytes it would return are summed from the table itself.
        dynamodb = session.client("dynamodb", region_name=REGION)
        RECORDER.reset()
        RECORDER.active = True
        scanned = sum(page["ScannedCount"] for page in dynamodb.get_paginator("scan").paginate(
            TableName=VIDEOS_TABLE, Select="COUNT"))  # fmt: skip
        RECORDER.active = False
        table_bytes = table_size(VIDEOS_TABLE)
        result.scan_items = scanned
        result.scan_kb = table_bytes / 1024
        result.scan_pages = max(1, math.ceil(table_bytes / MB))
        result.scan_read_units = math.ceil(table_bytes / 4096) * 0.5
        return result


def report(results: list[Measured], videos: int) -> None:
    sizes = [r.stored for r in results]
    header = f"{'':44}" + "".join(f"{f'{n:,} stored':>16}" for n in sizes)
    print(f"\nAWS operations per video, submit -> upload -> pipeline -> first feed page ({videos} videos measured)")
    print(header)
    operations = sorted({name for r in results for name in r.per_video_calls})
    total = [sum(r.per_video_calls.values()) for r in results]
    print(f"{'milkmobs: AWS calls per video':44}" + "".join(f"{t:>16.2f}" for t in total))
    for name in operations:
        print(f"{'  ' + name:44}" + "".join(f"{r.per_video_calls.get(name, 0.0):>16.2f}" for r in results))
    rows = [
        ("milkmobs: DynamoDB items read per video", [r.items_read for r in results], "{:>16.1f}"),
        ("milkmobs: DynamoDB KB read per video", [r.kb_read for r in results], "{:>16.1f}"),
        ("milkmobs: read units per video (estimate)", [r.read_units_estimate for r in results], "{:>16.1f}"),
        ("milkmobs: capacity units (moto's figures)", [r.capacity_reported for r in results], "{:>16.1f}"),
        ("milkmobs: wall ms per video (moto)", [r.seconds * 1000 for r in results], "{:>16.1f}"),
    ]
    original = [
        ("original: Scan calls per video (1 MB pages)", [2 * r.scan_pages for r in results], "{:>16.0f}"),
        ("original: items read per video", [2 * r.scan_items for r in results], "{:>16,.0f}"),
        ("original: KB read per video", [2 * r.scan_kb for r in results], "{:>16,.0f}"),
        ("original: read units per video", [2 * r.scan_read_units for r in results], "{:>16,.0f}"),
    ]
    for label, values, fmt in rows + original:
        print(f"{label:44}" + "".join(fmt.format(v) for v in values))
    ratios = [2 * r.scan_kb / r.kb_read if r.kb_read else float("inf") for r in results]
    print(f"{'KB read, original / milkmobs':44}" + "".join(f"{x:>15.0f}x" for x in ratios))
    same = all(abs(t - total[0]) < 1e-9 for t in total)
    print(f"\nper-video AWS call count the same at every size: {'yes' if same else 'NO'} "
          f"({', '.join(f'{t:.2f}' for t in total)})")  # fmt: skip
    print("not counted: vector index calls (in-memory index here; OpenSearch adds 1 upsert per video),")
    print("and the Step Functions transitions (the in-process orchestrator runs the same steps).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--measured", type=int, default=20)
    args = parser.parse_args(argv)
    install_recorder()
    patch_moto_transactions()
    results = []
    for size in args.sizes:
        began = time.perf_counter()
        results.append(measure(size, args.measured))
        print(f"measured with {size:,} stored videos in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    report(results, args.measured)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
