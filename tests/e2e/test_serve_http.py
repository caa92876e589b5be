"""End to end, as a new user would: ``milkmobs serve`` in a subprocess, driven over real HTTP.

Submit, upload the real mp4 through the returned form (S3's presigned-POST rules enforced), wait
for the pipeline, then every endpoint: pagination, media, validation, history, admin auth, delete,
and a clean Ctrl-C.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.e2e._serve_process import ServerProcess, make_mp4, serve

pytestmark = pytest.mark.slow
MAX_UPLOAD = 400_000


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        "milk1": make_mp4(folder / "milk1.mp4", text="GOT MILK", seed=1),
        "milk2": make_mp4(folder / "milk2.mp4", text="GOT MILK", seed=2),
        "plain": make_mp4(folder / "plain.mp4", seed=3),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    env = {
        "MILKMOBS_UPLOADS__MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
        "MILKMOBS_LOCAL__WORKERS": "2",
        "MILKMOBS_HTTP__WORKERS": "2",
    }
    with serve(tmp_path_factory.mktemp("data"), env=env) as running:
        yield running


def title_for(hashtags: list[str]) -> str:
    return "me drinking milk" if "gotmilk" in hashtags else "clip"


def _submit(server: ServerProcess, hashtags: list[str], size: int, user: str = "alice") -> dict[str, Any]:
    answer = requests.post(
        f"{server.url}/videos/submit",
        # Campaign entries name the action in the title: the clips' soundtracks are tones, not speech.
        json={"userId": user, "title": title_for(hashtags), "hashtags": hashtags, "sizeBytes": size},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _post_form(upload: dict[str, Any], data: bytes, fields: dict[str, str] | None = None) -> requests.Response:
    return requests.post(
        upload["url"],
        data=fields if fields is not None else upload["fields"],
        files={"file": ("clip.mp4", data, "video/mp4")},
        timeout=30,
    )


def _wait(server: ServerProcess, video_id: str, timeout: float = 120) -> dict[str, Any]:
    """The video once everything its workflow writes is visible: a final status (for a validated
    video that includes its mob) and an execution that has ended (the event is published last)."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        video = requests.get(f"{server.url}/videos/{video_id}", timeout=10).json()
        if not seen or seen[-1] != video["status"]:
            seen.append(video["status"])
        if video["status"] in ("validated", "rejected", "failed"):
            assert video["status"] != "validated" or video["mobId"], f"validated without its mob: {video}"
            history = requests.get(f"{server.url}/execution-history", params={"videoId": video_id}, timeout=10)
            if all(e["status"] != "RUNNING" for e in history.json()["executions"][:1]):
                return video  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"video {video_id} still {seen} (or its execution running) after {timeout}s")


def test_a_new_user_session(server: ServerProcess, videos: dict[str, Path]) -> None:
    url = server.url
    assert server.admin_token, "serve must print a generated admin token once"
    admin = {"Authorization": f"Bearer {server.admin_token}"}

    # Upload rules, as S3 enforces them on a presigned POST.
    too_big = requests.post(f"{url}/videos/submit", json={"userId": "alice", "sizeBytes": MAX_UPLOAD + 1}, timeout=10)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    refused = _submit(server, ["gotmilk"], 1000)
    forged = dict(refused["upload"]["fields"], key="vid_someoneelse.mp4")
    assert _post_form(refused["upload"], b"x" * 100, forged).status_code == 403
    signature = next(k for k in refused["upload"]["fields"] if "signature" in k.lower())
    tampered = dict(refused["upload"]["fields"], **{signature: "A" * len(refused["upload"]["fields"][signature])})
    assert _post_form(refused["upload"], b"x" * 100, tampered).status_code == 403
    huge = _post_form(refused["upload"], videos["milk1"].read_bytes() + bytes(MAX_UPLOAD))
    assert huge.status_code == 413, huge.text
    assert requests.get(f"{url}/videos/{refused['videoId']}", timeout=10).json()["status"] == "pending_upload"

    # Three real uploads; the pipeline runs in the background. The first is analysed before the
    # others arrive: two similar videos clustered at the very same moment may each found a mob
    # (the hourly re-clustering merges them), and this test checks the joining path.
    submitted: dict[str, str] = {}
    done: dict[str, dict[str, Any]] = {}
    for name, tags in (("milk1", ["gotmilk", "milkmob"]), ("milk2", ["gotmilk", "milkmob"]), ("plain", ["cats"])):
        data = videos[name].read_bytes()
        submission = _submit(server, tags, len(data))
        stored = _post_form(submission["upload"], data)
        assert stored.status_code == 204, stored.text
        submitted[name] = submission["videoId"]
        if name == "milk1":
            done[name] = _wait(server, submitted[name])
    done.update({name: _wait(server, video_id) for name, video_id in submitted.items() if name not in done})
    assert done["milk1"]["status"] == done["milk2"]["status"] == "validated", done
    assert done["plain"]["status"] == "rejected"
    milk1 = done["milk1"]
    assert milk1["mobId"] == done["milk2"]["mobId"] and milk1["mobName"]
    assert milk1["validation"]["breakdown"]["ocr"] > 0 and milk1["media"]["durationSeconds"] > 1

    # Media comes back byte for byte through its signed URL; a tampered signature is refused.
    media = requests.get(milk1["videoUrl"], timeout=10)
    assert media.status_code == 200 and media.content == videos["milk1"].read_bytes()
    assert media.headers["Content-Type"] == "video/mp4"
    ranged = requests.get(milk1["videoUrl"], headers={"Range": "bytes=0-99"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == media.content[:100]
    assert requests.get(milk1["videoUrl"].replace("signature=", "signature=x"), timeout=10).status_code == 403
    if milk1["thumbnailUrl"]:
        thumb = requests.get(milk1["thumbnailUrl"], timeout=10)
        assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"

    # Feed with pagination, user videos, mobs, similar, text search, validation, history.
    first = requests.get(f"{url}/feed", params={"limit": 1}, timeout=10).json()
    second = requests.get(f"{url}/videos/feed", params={"limit": 1, "cursor": first["nextCursor"]}, timeout=10).json()
    assert {v["videoId"] for v in first["videos"] + second["videos"]} == {submitted["milk1"], submitted["milk2"]}
    assert second["nextCursor"] is None
    assert requests.get(f"{url}/feed", params={"cursor": "forged"}, timeout=10).status_code == 400
    mine = requests.get(f"{url}/videos/user", params={"userId": "alice", "limit": 2}, timeout=10).json()
    assert len(mine["videos"]) == 2 and mine["nextCursor"]
    mobs = requests.get(f"{url}/mobs", timeout=10).json()["mobs"]
    assert [m["videoCount"] for m in mobs] == [2]
    mob = requests.get(f"{url}/mobs/{mobs[0]['mobId']}", params={"limit": 1}, timeout=10).json()
    assert len(mob["videos"]) == 1 and mob["nextCursor"]
    similar = requests.get(f"{url}/search/similar", params={"videoId": submitted["milk1"]}, timeout=10).json()
    assert [r["video"]["videoId"] for r in similar["results"]] == [submitted["milk2"]]
    found = requests.get(f"{url}/search/text", params={"q": "got milk"}, timeout=10).json()
    assert {r["video"]["videoId"] for r in found["results"]} == {submitted["milk1"], submitted["milk2"]}
    validation = requests.get(f"{url}/validate/{submitted['plain']}", timeout=10).json()
    assert validation["passed"] is False and validation["reasons"]
    rerun = requests.post(f"{url}/validate", json={"videoId": submitted["plain"]}, timeout=30)
    assert rerun.status_code == 200 and rerun.json()["score"] == validation["score"]
    history = requests.get(f"{url}/execution-history", params={"videoId": submitted["milk1"]}, timeout=10).json()
    steps = [s["name"] for s in history["executions"][0]["steps"]]
    assert history["executions"][0]["status"] == "SUCCEEDED" and "ClusterVideo" in steps
    spec = requests.get(f"{url}/openapi.json", timeout=10).json()
    assert "/admin/videos/{videoId}" in spec["paths"]
    assert requests.get(f"{url}/docs", timeout=10).status_code == 200

    # Admin: 401 anonymous, 403 wrong token, then list, stats, usage and delete.
    assert requests.get(f"{url}/admin/stats", timeout=10).status_code == 401
    wrong = requests.get(f"{url}/admin/stats", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "forbidden"
    assert requests.delete(f"{url}/admin/videos/{submitted['plain']}", timeout=10).status_code == 401
    listed = requests.get(f"{url}/admin/videos", params={"status": "validated"}, headers=admin, timeout=10).json()
    assert {v["videoId"] for v in listed["videos"]} == {submitted["milk1"], submitted["milk2"]}
    stats = requests.get(f"{url}/admin/stats", headers=admin, timeout=10).json()
    assert stats["totalVideos"] == 4 and stats["byStatus"]["validated"] == 2 and stats["activeMobs"] == 1
    usage = requests.get(f"{url}/admin/usage-stats", params={"range": "1h"}, headers=admin, timeout=10).json()
    assert usage["models"] and all(m["invocations"] >= 3 for m in usage["models"])
    gone = requests.delete(f"{url}/admin/videos/{submitted['milk2']}", headers=admin, timeout=10)
    assert gone.status_code == 200 and gone.json()["videoId"] == submitted["milk2"]
    assert requests.get(f"{url}/videos/{submitted['milk2']}", timeout=10).status_code == 404
    assert requests.get(done["milk2"]["videoUrl"], timeout=10).status_code == 404
    assert requests.get(f"{url}/mobs", timeout=10).json()["mobs"][0]["videoCount"] == 1
    after = requests.get(f"{url}/search/similar", params={"videoId": submitted["milk1"]}, timeout=10).json()
    assert submitted["milk2"] not in [r["video"]["videoId"] for r in after["results"]]

    # Served by several processes; each answers /healthz; reads are conditional (ETag → 304).
    assert len(server.http_pids) == 2 and server.pipeline_pid
    health = requests.get(f"{url}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["pid"] in server.http_pids
    # Keep-alive connections are spread evenly over the workers (one connection each, like 16 browsers):
    # the least-loaded worker accepts the next one.
    sessions = [requests.Session() for _ in range(16)]
    answered = [session.get(f"{url}/healthz", timeout=10).json()["pid"] for session in sessions]
    per_worker = sorted(answered.count(pid) for pid in server.http_pids)
    assert sum(per_worker) == 16 and per_worker[-1] - per_worker[0] <= 2, per_worker
    page = requests.get(f"{url}/mobs", timeout=10)
    unchanged = requests.get(f"{url}/mobs", headers={"If-None-Match": page.headers["ETag"]}, timeout=10)
    assert unchanged.status_code == 304 and not unchanged.content

    # Ctrl-C: a clean exit.
    assert server.stop() == 0
    assert any("milkmobs stopped" in line for line in server.output)
    # One access-log line per request (method, path, status, ms, bytes); the admin token only in the
    # banner that shows it once, never in a log line.
    log = [line for line in server.output if '" ' in line and line.startswith("127.0.0.1 ")]
    assert any(re.search(r'"GET /admin/stats" 200 \d+\.\dms \d+B$', line.strip()) for line in log)
    assert any(re.search(r'"POST /uploads" 204 \d+\.\dms 0B$', line.strip()) for line in log)
    assert sum(server.admin_token in line for line in server.output) == 1
    assert any(re.search(r"/media/\S+signature=\*\*\*", line) for line in log)  # signed URLs redacted


def test_configured_token_is_not_printed_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    import signal

    env = {"MILKMOBS_HTTP__ADMIN_TOKEN": "configured-secret"}
    with serve(tmp_path / "data", backend="memory", env=env) as running:
        assert running.admin_token is None
        assert (
            requests.get(
                f"{running.url}/admin/stats", headers={"Authorization": "Bearer configured-secret"}, timeout=10
            ).status_code
            == 200
        )
        assert running.stop(signal.SIGTERM) == 0
    assert not any("configured-secret" in line for line in running.output)
    assert any("milkmobs stopped" in line for line in running.output)


def test_a_killed_process_is_replaced_and_a_queued_analysis_survives(tmp_path: Path, videos: dict[str, Path]) -> None:
    """SIGKILL the pipeline process right after an upload was accepted, and an HTTP worker: the
    supervisor starts new ones, the analysis still completes, requests are still answered. Then
    SIGKILL the supervisor: its children stop."""
    with serve(tmp_path / "data", args=["--workers", "2"]) as running:
        assert len(running.http_pids) == 2 and running.pipeline_pid
        data = videos["milk1"].read_bytes()
        submission = _submit(running, ["gotmilk", "milkmob"], len(data))
        assert _post_form(submission["upload"], data).status_code == 204
        os.kill(running.pipeline_pid, signal.SIGKILL)
        os.kill(running.http_pids[0], signal.SIGKILL)
        # Connections the killed worker had (or had queued) are lost, as with any server process
        # that dies; once the supervisor has seen it go, new connections reach the live ones.
        replaced = [
            f"pipeline process {running.pipeline_pid} exited (-9); starting another",
            f"http process {running.http_pids[0]} exited (-9); starting another",
        ]
        deadline = time.monotonic() + 30
        while not all(any(text in line for line in running.output) for text in replaced):
            assert time.monotonic() < deadline, running.output[-5:]
            time.sleep(0.1)
        assert _wait(running, submission["videoId"])["status"] == "validated"
        assert all(requests.get(f"{running.url}/feed", timeout=10).status_code == 200 for _ in range(20))
        # The supervisor itself killed: its children stop too, rather than keep the port.
        children = _children(running.process.pid)
        assert len(children) == 3
        running.process.kill()
        deadline = time.monotonic() + 60
        while not all(_gone(pid) for pid in children):
            assert time.monotonic() < deadline, [pid for pid in children if not _gone(pid)]
            time.sleep(0.1)
    # Nothing of the run is left to clean up: its shared pages were memory, gone with its processes.
    with serve(tmp_path / "data", args=["--workers", "1"]) as again:
        assert requests.get(f"{again.url}/feed", timeout=10).status_code == 200
        assert again.stop() == 0


def test_a_run_leaves_no_temporary_files_behind(tmp_path: Path, videos: dict[str, Path]) -> None:
    """What a run makes for itself goes when it stops: nothing in its temp folder (``TMPDIR``, where
    ``tempfile`` and ffmpeg write), no half-written upload in the data directory."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    data_dir = tmp_path / "data"
    with serve(data_dir, args=["--workers", "2"], env={"TMPDIR": str(scratch)}) as running:
        data = videos["milk2"].read_bytes()
        submission = _submit(running, ["gotmilk", "milkmob"], len(data))
        assert _post_form(submission["upload"], data).status_code == 204
        assert _wait(running, submission["videoId"])["status"] == "validated"
        assert running.stop() == 0
    assert sorted(scratch.rglob("*")) == []
    assert [p for p in data_dir.rglob("*") if p.name.endswith(".part")] == []


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped counts: it runs no code)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
