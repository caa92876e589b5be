"""Putting videos on a running ``milkmobs serve`` over HTTP, as a browser would, before a page test."""

from __future__ import annotations

import time
from typing import Any

import requests

FINAL_STATUSES = ("validated", "rejected", "failed")


def upload_video(url: str, data: bytes, *, title: str, hashtags: list[str], user: str) -> str:
    """Submit, then post the file through the signed form; the video id."""
    submitted = requests.post(
        f"{url}/videos/submit",
        json={"userId": user, "title": title, "hashtags": hashtags, "sizeBytes": len(data)},
        timeout=10,
    )
    assert submitted.status_code == 201, submitted.text
    ticket = submitted.json()["upload"]
    stored = requests.post(
        ticket["url"], data=ticket["fields"], files={"file": ("v.mp4", data, "video/mp4")}, timeout=30
    )
    assert stored.status_code == 204, stored.text
    return str(submitted.json()["videoId"])


def analysis_running(url: str, video_id: str) -> bool:
    """Whether the video's latest workflow execution is still RUNNING (its last steps, e.g. the
    event, come after the final status is written)."""
    history: dict[str, Any] = requests.get(f"{url}/execution-history", params={"videoId": video_id}, timeout=10).json()
    return any(e["status"] == "RUNNING" for e in history.get("executions", [])[:1])


def final_record(url: str, video_id: str, timeout: float = 120) -> dict[str, Any]:
    """The video once its status is final and its execution has ended (polls the API; fails after
    ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        video: dict[str, Any] = requests.get(f"{url}/videos/{video_id}", timeout=10).json()
        if video["status"] in FINAL_STATUSES and not analysis_running(url, video_id):
            return video
        time.sleep(0.2)
    raise AssertionError(f"video {video_id} did not reach a final status in {timeout}s")
