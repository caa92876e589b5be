"""Soak: minutes of mixed traffic against ``milkmobs serve`` with SIGKILLs at random moments.

Not a CI test. On 127.0.0.1 only: client threads upload real mp4 clips (the local analyzer runs
ffmpeg on them), read videos, feeds, mobs and user lists, delete videos and re-cluster over HTTP,
while a killer SIGKILLs the whole server (supervisor, HTTP workers and pipeline process: its
process group, as a power cut would) at random moments and starts it again on the same data
directory. At the end the server is started once more (its recovery runs), every accepted video
is waited for, the server is stopped, and the invariants of the crash matrix are checked on the
data directory: no video or execution stuck, nothing accepted lost, counts = members, index rows
= records, one VideoAnalyzed event per finished video.

    python benchmarks/soak.py                 # 4 minutes
    python benchmarks/soak.py --seconds 60 --seed 3

Prints requests served, kills, videos and the lost / stuck / inconsistent counts (goal: 0 each).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.media_support and tests.crash.invariants

from tests import media_support  # noqa: E402

TOKEN = "soak-admin-token"
FINAL = ("validated", "rejected", "failed")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)


def start_server(data_dir: Path, timeout: float = 120) -> Server:
    """``milkmobs serve`` in its own session (so one signal reaches all its processes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKMOBS_")}
    env.update(MILKMOBS_HTTP__ADMIN_TOKEN=TOKEN, MILKMOBS_HTTP__WORKERS="2")
    process = subprocess.Popen(
        [sys.executable, "-m", "milkmobs.cli.main", "serve", "--backend", "local", "--data-dir", str(data_dir),
         "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    url = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"serving \w+ backend on (http://\S+)", line):
            url = m.group(1)
        if "API docs:" in line and url:
            break
    if url is None:
        kill(process)
        raise RuntimeError("milkmobs serve did not start:\n" + "".join(lines))
    server = Server(url, process, lines)

    def drain() -> None:
        assert process.stdout is not None
        for rest in process.stdout:
            lines.append(rest)

    threading.Thread(target=drain, daemon=True).start()
    return server


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL the server's whole process group: nothing gets to clean up."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/mobs", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


class Soak:
    def __init__(self, data_dir: Path, clips: list[tuple[Path, list[str]]], seed: int) -> None:
        self.data_dir = data_dir
        self.clips = clips
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.server = start_server(data_dir)
        self.stop = threading.Event()
        self.served = 0
        self.server_errors = 0
        self.failed_connections = 0
        self.kills = 0
        self.accepted: set[str] = set()
        self.delete_tried: set[str] = set()
        self.operations: Counter[str] = Counter()
        self.owners: dict[str, str] = {}

    def owner(self, video_id: str) -> str:
        with self.lock:
            return self.owners[video_id]

    def url(self) -> str:
        with self.lock:
            return self.server.url

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response | None:
        """One request; None when the server was down (killed) at that moment."""
        base = self.url()
        try:
            answer = requests.request(method, f"{base}{path}" if path.startswith("/") else path, timeout=30, **kwargs)
        except requests.RequestException:
            with self.lock:
                self.failed_connections += 1
            time.sleep(0.3)  # killed: give the restart a moment
            return None
        with self.lock:
            self.served += 1
            if answer.status_code >= 500 and answer.status_code != 503:
                self.server_errors += 1
        return answer

    def known(self) -> list[str]:
        with self.lock:
            return sorted(self.accepted - self.delete_tried)

    def client(self, rng: random.Random) -> None:
        admin = {"Authorization": f"Bearer {TOKEN}"}
        while not self.stop.is_set():
            roll = rng.random()
            known = self.known()
            if roll < 0.4 or not known:
                self.operations["upload"] += 1
                clip, tags = rng.choice(self.clips)
                data = clip.read_bytes()
                user = f"user{rng.randrange(10**9)}"  # a user's same file is stored once: many users
                body = {"userId": user, "title": clip.stem, "hashtags": tags, "sizeBytes": len(data)}
                submitted = self.call("POST", "/videos/submit", json=body)
                if submitted is None or submitted.status_code != 201:
                    continue
                ticket = submitted.json()["upload"]
                files = {"file": ("clip.mp4", data, "video/mp4")}
                posted = self.call("POST", ticket["url"], data=ticket["fields"], files=files)
                if posted is not None and posted.status_code == 204:
                    with self.lock:
                        self.accepted.add(submitted.json()["videoId"])
                        self.owners[submitted.json()["videoId"]] = user
            elif roll < 0.77:
                self.operations["read"] += 1
                path = rng.choice(["/videos/{id}", "/feed", "/mobs", "/videos/user", "/execution-history"])
                video_id = rng.choice(known)
                if path == "/videos/{id}":
                    self.call("GET", f"/videos/{video_id}")
                elif path == "/videos/user":
                    self.call("GET", "/videos/user", params={"userId": self.owner(video_id)})
                elif path == "/execution-history":
                    self.call("GET", "/execution-history", params={"videoId": video_id})
                else:
                    self.call("GET", path)
            elif roll < 0.87:
                self.operations["similar"] += 1
                self.call("GET", "/search/similar", params={"videoId": rng.choice(known)})
            elif roll < 0.95:
                self.operations["delete"] += 1
                video_id = rng.choice(known)
                with self.lock:
                    self.delete_tried.add(video_id)
                self.call("DELETE", f"/admin/videos/{video_id}", headers=admin)
            else:
                self.operations["recluster"] += 1
                self.call("POST", "/admin/recluster", headers=admin)
            time.sleep(rng.uniform(0.0, 0.2))

    def killer(self, min_gap: float, max_gap: float) -> None:
        while not self.stop.wait(self.random.uniform(min_gap, max_gap)):
            with self.lock:
                process = self.server.process
            kill(process)
            self.kills += 1
            server = start_server(self.data_dir)
            with self.lock:
                self.server = server

    def run(self, seconds: float, clients: int, min_gap: float, max_gap: float) -> None:
        threads = [
            threading.Thread(target=self.client, args=(random.Random(self.random.random()),), daemon=True)
            for _ in range(clients)
        ]
        threads.append(threading.Thread(target=self.killer, args=(min_gap, max_gap), daemon=True))
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=180)

    def settle(self, timeout: float) -> list[str]:
        """Once more a kill and a restart (recovery runs), then wait for every accepted video; the ids
        still not final after ``timeout`` seconds."""
        kill(self.server.process)
        self.kills += 1
        self.server = start_server(self.data_dir)
        wait_ready(self.server.url)
        waiting = set(self.known())
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for video_id in sorted(waiting):
                answer = self.call("GET", f"/videos/{video_id}")
                if answer is None:
                    continue
                if answer.status_code == 404 or answer.json().get("status") in FINAL:
                    history = self.call("GET", "/execution-history", params={"videoId": video_id})
                    running = (
                        history is not None
                        and history.status_code == 200
                        and any(e["status"] == "RUNNING" for e in history.json()["executions"][:1])
                    )
                    if not running:
                        waiting.discard(video_id)
            time.sleep(0.5)
        self.server.process.send_signal(signal.SIGTERM)  # a clean stop: the supervisor stops its children
        self.server.process.wait(timeout=120)
        return sorted(waiting)


def make_clips(folder: Path) -> list[tuple[Path, list[str]]]:
    specs = [
        ("milk_beach", "GOT MILK", ["gotmilk", "beach"], 0),
        ("milk_skate", "GOT MILK", ["gotmilk", "skate"], 1),
        ("milk_park", "GOT MILK", ["gotmilk", "milkmob"], 2),
        ("skate_trick", None, ["skate"], 3),
    ]
    clips = []
    for name, text, tags, seed in specs:
        path = media_support.make_mp4(
            folder / f"{name}.mp4", seconds=1.5, size="320x240", tone=440 + 60 * seed, text=text, pattern="testsrc"
        )
        clips.append((path, tags))
    return clips


def check(data_dir: Path, accepted: set[str]) -> Any:
    from tests.crash.invariants import check as check_invariants

    from milkmobs.bootstrap import build
    from milkmobs.settings import Backend, Settings

    with build(Settings(backend=Backend.LOCAL, local={"data_dir": data_dir})) as app:
        return check_invariants(app, data_dir, accepted=accepted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0, help="how long the traffic runs")
    parser.add_argument("--clients", type=int, default=2, help="client threads")
    parser.add_argument("--kill-gap", type=float, nargs=2, default=(4.0, 15.0), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="milkmobs-soak-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        clips = make_clips(Path(tmp))
        started = time.monotonic()
        soak = Soak(data_dir, clips, args.seed)
        soak.run(args.seconds, args.clients, *args.kill_gap)
        unsettled = soak.settle(timeout=300)
        accepted = set(soak.accepted) - soak.delete_tried
        findings = check(data_dir, accepted)
        elapsed = time.monotonic() - started
    stuck = len(findings.stuck) + len(unsettled)
    print(f"soak: {args.seconds:.0f} s of traffic on 127.0.0.1, {args.clients} clients, seed {args.seed} "
          f"({elapsed:.0f} s in all)")  # fmt: skip
    print(f"requests served: {soak.served} ({soak.server_errors} answered 5xx other than 503; "
          f"{soak.failed_connections} found the server down)")  # fmt: skip
    print("operations: " + ", ".join(f"{name} {count}" for name, count in sorted(soak.operations.items())))
    print(f"kills: {soak.kills} (SIGKILL of the whole server, then a restart on the same data)")
    print(f"videos: {findings.videos} stored, {len(soak.accepted)} uploads accepted, {len(soak.delete_tried)} deletes")
    print(f"lost: {len(findings.lost)}  stuck: {stuck}  inconsistent: {len(findings.inconsistent)}")
    for line in [*findings.lost, *findings.stuck, *(f"not final: {v}" for v in unsettled), *findings.inconsistent]:
        print(f"  {line}")
    return 0 if findings.clean and not unsettled else 1


if __name__ == "__main__":
    sys.exit(main())
