"""Start-up recovery of the in-process pipeline: one call, ``recover(context, orchestrator)``, in the
process that runs the pipeline, before it takes new work.

A crash (SIGKILL, power cut) can stop the pipeline between any two store writes. Every step is
idempotent and the video record is the truth, so recovery is, in this order:

1. **resume** every execution left RUNNING that had begun a step, to its end, in this thread: the
   workflow restarts from the top; steps whose effect is stored are no-ops (the analysis is not
   billed twice), the rest are done, the event is published once (event logs dedupe it), and the
   execution ends SUCCEEDED or FAILED;
2. **place** validated videos whose mob is missing (a batch run interrupted after deleting it);
3. **reconcile** mob counts from members and remove mobs left without any (counts are deltas
   written beside the records, so an interruption can leave them off);
4. **rewrite index rows** from the records (status and mob, or no row for a failed or deleted
   video);
5. **queue** executions that never began a step, and uploaded videos that have none, for the
   workers.

Steps 1–4 run with nothing else writing (the workers take only what step 5 hands them), which is
what makes the reconciliation exact. They cost O(videos) reads at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from milkmobs.core.mobs import cluster_video, reconcile_mobs
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.steps import StepContext
from milkmobs.core.views import MobReconciliation
from milkmobs.domain import MAX_PAGE_SIZE, NotFoundError, Video, VideoStatus
from milkmobs.ports import IndexedVector, ListableVectorIndex, ResumableWorkflow


@dataclass(frozen=True)
class RecoveryReport:
    """What recovery did: executions run to their end now, executions queued for the workers,
    videos placed again, index rows rewritten and mobs reconciled."""

    resumed: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)
    index_rows: int = 0
    mobs: MobReconciliation = field(default_factory=MobReconciliation)


def recover(context: StepContext, orchestrator: ResumableWorkflow) -> RecoveryReport:
    """Bring every video a previous process left half-done to a terminal state with everything its
    workflow writes (see the module docstring). Call it once at start-up, before new uploads."""
    ports = context.ports
    running = orchestrator.running()
    interrupted = [r.video_id for r in running if r.steps]
    resumed = [video_id for video_id in interrupted if orchestrator.resume(video_id, inline=True)]
    waiting = [r.video_id for r in running if not r.steps]

    placed: list[str] = []
    for video in _all_videos(ports):
        if video.status is VideoStatus.VALIDATED and not _mob_exists(ports, video.mob_id):
            cluster_video(ports, context.config, video.video_id)
            placed.append(video.video_id)
        elif (
            video.status in (VideoStatus.UPLOADED, VideoStatus.PROCESSING)
            and video.video_id not in waiting
            and not orchestrator.history(video.video_id)  # accepted, but its execution was never recorded
        ):
            waiting.append(video.video_id)
    mobs = reconcile_mobs(ports, remove_empty=True)
    rows = sync_index_rows(ports)
    queued = [video_id for video_id in waiting if orchestrator.resume(video_id)]
    return RecoveryReport(resumed=resumed, queued=queued, placed=placed, index_rows=rows, mobs=mobs)


def sync_index_rows(ports: CorePorts) -> int:
    """Rewrite every video's index row from its record: the vector with its status and mob, or no
    row for a failed video; and, where the index can list its rows, remove those of deleted videos
    (a delete interrupted between the record and the row). Returns how many rows were written."""
    written = 0
    pages = _pages(ports)
    if isinstance(ports.index, ListableVectorIndex):
        stored = {video.video_id for page in pages for video in page}
        for video_id in sorted(ports.index.video_ids() - stored):
            ports.index.delete(video_id)
    for page in pages:
        rows = [
            IndexedVector(v.video_id, v.embedding.vector, v.status, v.mob_id)
            for v in page
            if v.embedding is not None and v.status is not VideoStatus.FAILED
        ]
        ports.index.upsert_many(rows)
        written += len(rows)
        for video in page:
            if video.status is VideoStatus.FAILED:
                ports.index.delete(video.video_id)
    return written


def _mob_exists(ports: CorePorts, mob_id: str | None) -> bool:
    if mob_id is None:
        return False
    try:
        ports.mobs.get(mob_id)
    except NotFoundError:
        return False
    return True


def _pages(ports: CorePorts) -> list[list[Video]]:
    pages: list[list[Video]] = []
    cursor: str | None = None
    while True:  # collect first: recovery changes records under the cursor
        page = ports.videos.list_by_status(None, limit=MAX_PAGE_SIZE, cursor=cursor)
        pages.append(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return pages


def _all_videos(ports: CorePorts) -> list[Video]:
    return [video for page in _pages(ports) for video in page]


__all__ = ["RecoveryReport", "recover", "sync_index_rows"]
