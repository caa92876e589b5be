"""Administration: list, delete, statistics, model usage and cost."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from milkmobs.core.config import CoreConfig
from milkmobs.core.mobs import leave_mob
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.queries import check_limit, view_page
from milkmobs.core.views import VideoView
from milkmobs.domain import (
    MAX_PAGE_SIZE,
    BackendUnavailableError,
    InvalidInputError,
    MilkmobsError,
    Page,
    UsageReport,
    UsageTotals,
    Video,
    VideoStats,
    VideoStatus,
)

log = logging.getLogger(__name__)

USAGE_RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
#: Bucket width per range: 12 to 30 points per chart, each a whole number of minutes (CloudWatch periods).
USAGE_STEPS: dict[str, timedelta] = {
    "1h": timedelta(minutes=5),
    "24h": timedelta(hours=1),
    "7d": timedelta(hours=6),
    "30d": timedelta(days=1),
}


def list_videos(
    ports: CorePorts, config: CoreConfig, *, status: VideoStatus | None, limit: int, cursor: str | None
) -> Page[VideoView]:
    """Every video, or those in ``status``, newest first."""
    page = ports.videos.list_by_status(status, limit=check_limit(limit), cursor=cursor)
    return view_page(ports, config, page)


def delete_video(ports: CorePorts, video_id: str) -> Video:
    """Delete a video and everything derived from it.

    Order, chosen so that a failure part-way never leaves something user-visible inconsistent:

    1. the record — from here on no list, feed, mob page or lookup shows the video (searches only
       return hits whose record exists), and a second delete is a NotFoundError;
    2. the vector in the index;
    3. every stored version of the media file, then the thumbnail;
    4. the mob: count − 1 and the centroid without this video.

    Steps 2–4 are all attempted even if one fails; if any failed, BackendUnavailableError names
    what is left behind (harmless leftovers: nothing points at them any more).
    """
    video = ports.videos.delete(video_id)
    leftovers: list[str] = []

    def attempt(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except MilkmobsError as exc:
            log.warning("deleting video %s: %s could not be removed: %s", video_id, what, exc)
            leftovers.append(f"{what} ({exc.message})")

    attempt("its vector", lambda: ports.index.delete(video_id))
    attempt(f"its media file {video.media_key}", lambda: ports.media.delete(video.media_key))
    if video.thumbnail_key:
        key = video.thumbnail_key
        attempt(f"its thumbnail {key}", lambda: ports.media.delete(key))
    if video.mob_id:
        mob_id = video.mob_id
        vector = video.embedding.vector if video.embedding is not None else None
        attempt(f"its membership of mob {mob_id}", lambda: leave_mob(ports, mob_id, vector))
    if leftovers:
        raise BackendUnavailableError(
            f"video {video_id} was deleted, but " + "; ".join(leftovers) + " remained; remove them by hand",
            video_id=video_id,
        )
    return video


#: The last hour's videos are counted by reading the newest pages: a bounded read, never a scan.
RECENT_COUNT_BOUND = 1000


def stats(ports: CorePorts) -> VideoStats:
    """Store counters, the number of mobs with members, and the videos submitted in the last hour."""
    counters = ports.videos.stats()
    active = sum(1 for mob in ports.mobs.list_all() if mob.video_count > 0)
    recent, capped = _submitted_since(ports, ports.clock.now() - timedelta(hours=1))
    return counters.with_activity(active_mobs=active, videos_last_hour=recent, capped=capped)


def _submitted_since(ports: CorePorts, since: datetime) -> tuple[int, bool]:
    """How many videos were created at or after ``since`` (up to ``RECENT_COUNT_BOUND``), and whether
    the bound was reached."""
    count, cursor = 0, None
    while True:
        page = ports.videos.list_by_status(None, limit=MAX_PAGE_SIZE, cursor=cursor)
        for video in page.items:  # newest first: the first older one ends the count
            if video.created_at < since:
                return count, False
            if count == RECENT_COUNT_BOUND:
                return count, True
            count += 1
        cursor = page.next_cursor
        if cursor is None:
            return count, False


def usage(ports: CorePorts, config: CoreConfig, range_name: str) -> UsageReport:
    """Per-model invocations, tokens, video seconds and cost over the last ``1h``, ``24h``, ``7d``
    or ``30d``, also split into time buckets (``USAGE_STEPS``) for a chart.

    Cost is video seconds × the price per second of the Bedrock model id (``prices_per_second``);
    other analyzers' model ids (local, fake) have no price: their cost is None ("not priced"), and
    the total is None when no model used in the range has a price."""
    span = USAGE_RANGES.get(range_name)
    if span is None:
        raise InvalidInputError(f"range must be one of {', '.join(USAGE_RANGES)}, got {range_name!r}", field="range")
    step = USAGE_STEPS[range_name]
    end = ports.clock.now()
    start = end - span
    models: list[UsageTotals] = []
    for totals in ports.metrics.usage_between(start, end, step=step):
        models.append(totals.priced(config.prices_per_second.get(totals.model_id)))
    models.sort(key=lambda t: (t.model_type.value, t.model_id))
    costs = [t.estimated_cost_usd for t in models if t.estimated_cost_usd is not None]
    total = round(sum(costs), 6) if costs or not models else None
    return UsageReport(
        range=range_name,
        start=start,
        end=end,
        bucket_seconds=int(step.total_seconds()),
        models=models,
        total_estimated_cost_usd=total,
    )
