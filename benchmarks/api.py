"""HTTP API and Lambda cold-start benchmark (not run by CI).

1. Seeds a local-backend data directory with N videos (default 10,000) through the real pipeline —
   the analyzer is the FAKE one (the real LocalAnalyzer would take hours for 10,000 files); stores,
   vector index, clustering and the workflow are the real local ones.
2. Starts ``milkmobs serve --backend local`` on it in a subprocess, and drives ``GET /feed`` and
   ``GET /search/similar`` with 32 concurrent clients: p50 / p99 latency and requests per second.
   Peer: the same core call made in process (no HTTP), measured in the same run.
3. Lambda cold-start imports: each ``milkmobs.lambdas.<module>`` imported in a fresh interpreter,
   as a ratio to importing boto3 alone (median of R runs), plus import + first invocation with the
   memory backend (what a container pays before its first answer, minus network).

    python benchmarks/api.py [--videos 10000] [--requests 3000] [--clients 32] [--import-runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.e2e._serve_process

THEMES = [["gotmilk", "skate"], ["gotmilk", "cereal"], ["milkmob", "dance"], ["gotmilk", "gym"], ["cats"]]


def seed(data_dir: Path, count: int) -> float:
    """``count`` analysed videos in ``data_dir``; returns seconds taken."""
    from milkmobs.adapters.memory.analyzer import FakeAnalyzer
    from milkmobs.bootstrap import build
    from milkmobs.core.views import SubmitRequest
    from milkmobs.settings import Settings

    settings = Settings(backend="local", data_dir=data_dir)
    start = time.perf_counter()
    with build(
        settings,
        retry_interval_scale=0,
        wait_scale=0,
        media_processor=None,
        analyzer=lambda a: FakeAnalyzer(a.media, dimension=a.index.dimension),
    ) as app:
        for i in range(count):
            tags = THEMES[i % len(THEMES)]
            data = f"GOT MILK drinking milk {i}".encode() * 4
            sub = app.submit_video(
                SubmitRequest(user_id=f"user{i % 97}", title=f"clip {i}", hashtags=tags, size_bytes=len(data))
            )
            app.upload_video(sub.video_id, data)
            if (i + 1) % 1000 == 0:
                print(f"  seeded {i + 1}/{count} ({time.perf_counter() - start:.0f} s)", flush=True)
    return time.perf_counter() - start


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def load(url_for: Any, total: int, clients: int) -> tuple[list[float], float, int]:
    """``total`` GETs from ``clients`` threads; latencies (ms), wall seconds, error count."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    per_client = total // clients

    def client(n: int) -> None:
        rng = random.Random(n)
        session = requests.Session()
        mine: list[float] = []
        bad = 0
        for _ in range(per_client):
            t = time.perf_counter()
            answer = session.get(url_for(rng), timeout=30)
            mine.append((time.perf_counter() - t) * 1000)
            bad += answer.status_code != 200
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - start, errors[0]


def in_process_peer(data_dir: Path, runs: int) -> tuple[dict[str, float], list[str]]:
    """p50 (ms) of the same core calls without HTTP, on the same data; and ids to query with.
    (Run before the server starts: the local vector index admits one process at a time.)"""
    from milkmobs.bootstrap import build
    from milkmobs.settings import Settings

    out: dict[str, float] = {}
    video_ids: list[str] = []
    with build(Settings(backend="local", data_dir=data_dir)) as app:
        cursor = None
        while len(video_ids) < 2000:
            page = app.feed(limit=100, cursor=cursor)
            video_ids += [v.video_id for v in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        rng = random.Random(7)
        for name, call in (
            ("feed", lambda: app.feed(limit=20)),
            ("similar", lambda: app.similar_videos(rng.choice(video_ids), limit=10)),
        ):
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                call()
                times.append((time.perf_counter() - t) * 1000)
            out[name] = statistics.median(times)
    return out, video_ids


def http_benchmark(data_dir: Path, total: int, clients: int) -> None:
    from tests.e2e._serve_process import serve

    peer, ids = in_process_peer(data_dir, runs=200)
    with serve(data_dir, backend="local", env={"MILKMOBS_WORKERS": "2"}) as server:
        url = server.url
        cases = {
            "GET /feed": lambda rng: f"{url}/feed?limit=20",
            "GET /search/similar": lambda rng: f"{url}/search/similar?videoId={rng.choice(ids)}&limit=10",
        }
        print(f"\nHTTP, {clients} concurrent clients, {total} requests each endpoint (local backend, waitress)")
        # "ms/req" = wall time / requests: the server's cost per answer under load (p50 adds the queue).
        print(
            f"{'endpoint':<22}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'ms/req':>8}{'errors':>8}"
            f"{'core p50 ms':>13}{'ms/req / core':>15}"
        )
        for (name, url_for), peer_ms in zip(cases.items(), (peer["feed"], peer["similar"]), strict=True):
            load(url_for, clients * 5, clients)  # warm-up
            latencies, wall, errors = load(url_for, total, clients)
            p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
            rps = len(latencies) / wall
            print(
                f"{name:<22}{p50:>9.2f}{p99:>9.2f}{rps:>9.0f}{1000 / rps:>8.2f}{errors:>8}{peer_ms:>13.2f}"
                f"{1000 / rps / peer_ms:>14.1f}x"
            )
        assert server.stop() == 0


def _seconds(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def import_benchmark(runs: int) -> None:
    """Each entry module against boto3, measured alternately (pairs) so machine load hits both alike."""
    modules = sorted(p.stem for p in (ROOT / "src" / "milkmobs" / "lambdas").glob("*.py") if not p.stem.startswith("_"))
    timer = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    first_call = (
        "import os, time; os.environ['MILKMOBS_BACKEND'] = 'memory'; t = time.perf_counter(); "
        "import milkmobs.lambdas.{m}; import milkmobs.lambdas._runtime as r; r.app(); "
        "print(time.perf_counter() - t)"
    )
    print(f"\nLambda entry modules: import time vs `import boto3` in a fresh interpreter, median of {runs} pairs")
    print(f"{'module':<28}{'boto3 ms':>9}{'import ms':>10}{'ratio':>8}{'import+build ms':>17}{'ratio':>8}")
    for module in modules:
        boto3, imported, built = [], [], []
        for _ in range(runs):
            boto3.append(_seconds(timer.format(m="boto3")))
            imported.append(_seconds(timer.format(m=f"milkmobs.lambdas.{module}")))
            built.append(_seconds(first_call.format(m=module)))
        b, i, f = (statistics.median(x) for x in (boto3, imported, built))
        print(f"{module:<28}{b * 1000:>9.0f}{i * 1000:>10.0f}{i / b:>7.2f}x{f * 1000:>17.0f}{f / b:>7.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3_200)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--import-runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a seeded directory")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-imports", action="store_true")
    args = parser.parse_args()
    if not args.skip_http:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = args.data_dir or Path(tmp) / "data"
            if args.data_dir is None or not (data_dir / "milkmobs.sqlite3").exists():
                print(f"seeding {args.videos} videos into {data_dir} ...", flush=True)
                print(f"seeded in {seed(data_dir, args.videos):.0f} s")
            http_benchmark(data_dir, args.requests, args.clients)
    if not args.skip_imports:
        import_benchmark(args.import_runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
