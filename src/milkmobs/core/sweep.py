"""The stuck-video sweep: every video ends somewhere even when an event was lost.

- An ``uploaded`` video whose workflow never started (the S3 notification was lost, or
  start-analysis failed for good) is started again. Executions are named by the video id, so a
  second start of a running execution changes nothing; a video whose execution already *ended*
  while it stayed ``uploaded`` is marked failed with the reason.
- A ``pending_upload`` record whose upload URL expired long ago is deleted (the DynamoDB TTL is
  the backstop; deleting here keeps the admin counters exact).

Safe to run at any time and any number of times.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from milkmobs.core.limits import PENDING_UPLOAD_GRACE_SECONDS
from milkmobs.core.pipeline import mark_failed
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.domain import ConflictError, ExecutionStatus, NotFoundError, Video, VideoStatus
from milkmobs.ports import Workflow

log = logging.getLogger(__name__)

#: An upload younger than this may still be on its way to its execution: left alone.
UPLOADED_GRACE = timedelta(minutes=10)
#: How long after its upload URL expired a never-uploaded record is kept.
PENDING_UPLOAD_GRACE = timedelta(seconds=PENDING_UPLOAD_GRACE_SECONDS)
_PAGE = 100


@dataclass
class SweepReport:
    """What one sweep did, by video id."""

    restarted: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, list[str]]:
        return {"restarted": self.restarted, "running": self.running, "failed": self.failed, "expired": self.expired}


def _videos(ports: CorePorts, status: VideoStatus) -> Iterator[Video]:
    cursor: str | None = None
    while True:
        page = ports.videos.list_by_status(status, limit=_PAGE, cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def sweep(ports: CorePorts, workflow: Workflow, *, upload_url_expires_seconds: int) -> SweepReport:
    """Re-drive stuck ``uploaded`` videos and expire abandoned ``pending_upload`` records."""
    report = SweepReport()
    now = ports.clock.now()
    for video in list(_videos(ports, VideoStatus.UPLOADED)):
        if now - (video.uploaded_at or video.updated_at) < UPLOADED_GRACE:
            continue
        _redrive(ports, workflow, video, report)
    expiry = timedelta(seconds=upload_url_expires_seconds) + PENDING_UPLOAD_GRACE
    for video in list(_videos(ports, VideoStatus.PENDING_UPLOAD)):
        if now - video.created_at < expiry:
            continue
        try:
            ports.videos.delete(video.video_id)
        except NotFoundError:
            continue
        report.expired.append(video.video_id)
        log.info("sweep: pending upload %s expired unused", video.video_id)
    return report


def _redrive(ports: CorePorts, workflow: Workflow, video: Video, report: SweepReport) -> None:
    video_id = video.video_id
    started = workflow.start(video_id)
    if not started.already_started:
        report.restarted.append(video_id)
        log.warning("sweep: video %s was uploaded but never analysed; its workflow is started now", video_id)
        return
    history = workflow.history(video_id)
    if not history or history[0].status is ExecutionStatus.RUNNING:
        report.running.append(video_id)
        return
    ended = history[0]
    reason = (
        f"its analysis execution ended {ended.status.value} without processing it"
        f"{': ' + ended.error if ended.error else ''}; upload the video again"
    )
    try:
        mark_failed(ports, video_id, step="AnalysisWorkflow", error=reason, error_type="ExecutionEnded")
    except (ConflictError, NotFoundError):
        return  # it moved on (or was deleted) meanwhile: nothing is stuck
    report.failed.append(video_id)


__all__ = ["PENDING_UPLOAD_GRACE", "UPLOADED_GRACE", "SweepReport", "sweep"]
