"""The invariants a local data directory holds once ``milkmobs`` has recovered from any crash.

Read through the application's own ports, plus the two things no port reads back: the event log
(``SQLiteEventLog.published``) and the vector index's rows (its SQLite table), read directly.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from milkmobs.adapters.local.sqlite_events import SQLiteEventLog
from milkmobs.core.service import MilkMobs
from milkmobs.domain import ExecutionStatus, VideoStatus
from tests.unit.core_support import all_videos

#: Statuses a video may rest in: analysed, or never accepted (its upload did not complete).
RESTING = frozenset({VideoStatus.VALIDATED, VideoStatus.REJECTED, VideoStatus.FAILED, VideoStatus.PENDING_UPLOAD})


@dataclass
class Findings:
    """What is wrong, by class: stuck videos or executions, lost work, inconsistent derived data."""

    videos: int = 0
    stuck: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.stuck or self.lost or self.inconsistent)

    def __str__(self) -> str:
        lines = [f"{self.videos} videos"]
        for name in ("stuck", "lost", "inconsistent"):
            lines += [f"{name}: {item}" for item in getattr(self, name)]
        return "\n".join(lines)


def index_rows(data_dir: Path) -> dict[str, tuple[str, str | None]]:
    """``{video id: (status, mob id)}`` as the persisted vector index holds them."""
    conn = sqlite3.connect(data_dir / "index" / "index.sqlite3")
    try:
        rows = conn.execute("SELECT video_id, status, mob_id FROM vectors").fetchall()
    finally:
        conn.close()
    return {str(video_id): (str(status), mob_id) for video_id, status, mob_id in rows}


def check(app: MilkMobs, data_dir: Path, *, accepted: set[str] | None = None) -> Findings:
    """Every invariant of a recovered data directory. ``accepted``: videos whose upload was
    acknowledged to the client (they must have been analysed, never left ``pending_upload``)."""
    ports = app.ports
    videos = all_videos(app)
    found = Findings(videos=len(videos))
    by_id = {v.video_id: v for v in videos}

    for video in videos:
        if video.status not in RESTING:
            found.stuck.append(f"video {video.video_id} is {video.status.value}")
        if accepted is not None and video.video_id in accepted and video.status is VideoStatus.PENDING_UPLOAD:
            found.lost.append(f"video {video.video_id}: accepted upload, still pending_upload")
        if video.status is VideoStatus.VALIDATED:
            if video.mob_id is None:
                found.inconsistent.append(f"video {video.video_id} is validated without a mob")
        elif video.mob_id is not None:
            found.inconsistent.append(f"video {video.video_id} is {video.status.value} in mob {video.mob_id}")
    for video_id in sorted((accepted or set()) - set(by_id)):
        found.lost.append(f"video {video_id}: accepted upload, record gone")

    workflow = app.workflow
    for video in videos:
        for execution in workflow.history(video.video_id):
            if execution.status is ExecutionStatus.RUNNING:
                found.stuck.append(f"execution {execution.execution_id} is RUNNING (video {video.status.value})")
            elif (execution.status is ExecutionStatus.SUCCEEDED) != (
                video.status in (VideoStatus.VALIDATED, VideoStatus.REJECTED)
            ):
                found.inconsistent.append(
                    f"execution {execution.execution_id} ended {execution.status.value}, video is {video.status.value}"
                )

    members = Counter(v.mob_id for v in videos if v.status is VideoStatus.VALIDATED and v.mob_id)
    mobs = {m.mob_id: m for m in ports.mobs.list_all()}
    for mob_id, mob in mobs.items():
        if mob.video_count != members.get(mob_id, 0):
            found.inconsistent.append(f"mob {mob_id} counts {mob.video_count}, has {members.get(mob_id, 0)} members")
        if members.get(mob_id, 0) == 0:
            found.inconsistent.append(f"mob {mob_id} has no member")
    for mob_id in set(members) - set(mobs):
        found.inconsistent.append(f"videos point at missing mob {mob_id}")

    expected = {
        v.video_id: (v.status.value, v.mob_id)
        for v in videos
        if v.embedding is not None and v.status is not VideoStatus.FAILED
    }
    rows = index_rows(data_dir)
    for video_id in sorted(set(expected) | set(rows)):
        if expected.get(video_id) != rows.get(video_id):
            found.inconsistent.append(
                f"index row of {video_id} is {rows.get(video_id)}, record says {expected.get(video_id)}"
            )

    events = ports.events
    assert isinstance(events, SQLiteEventLog), type(events)
    published = events.published()
    counts = Counter(e.video_id for e in published)
    for video in videos:
        want = 1 if video.status in (VideoStatus.VALIDATED, VideoStatus.REJECTED) else 0
        got = counts.get(video.video_id, 0)
        if got != want:
            found.inconsistent.append(f"video {video.video_id} ({video.status.value}) has {got} VideoAnalyzed events")
    for event in published:
        video = by_id.get(event.video_id)
        if video is not None and event.status is not video.status:
            found.inconsistent.append(
                f"event of {event.video_id} says {event.status.value}, video is {video.status.value}"
            )

    stats = ports.videos.stats()
    actual = Counter(v.status.value for v in videos)
    if stats.by_status != dict(actual):
        found.inconsistent.append(f"status counters {stats.by_status} != records {dict(actual)}")
    return found
