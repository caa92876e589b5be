"""Reads: video views, feed, user lists, mobs, similar-video and text search, validation."""

from __future__ import annotations

from collections.abc import Iterable

from milkmobs.core.config import CoreConfig
from milkmobs.core.pipeline import checked_embedding, record_usage
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.views import MobDetail, SimilarResult, SimilarVideos, VideoView
from milkmobs.domain import (
    MAX_PAGE_SIZE,
    ConflictError,
    InvalidInputError,
    Mob,
    NotFoundError,
    Page,
    ValidationResult,
    Vector,
    Video,
    VideoStatus,
)

MAX_QUERY_LENGTH = 500
#: A text shares nothing with a video whose cosine to it is zero up to float noise (or below):
#: such a video is not a match, and a search where every video is one finds nothing.
TEXT_MATCH_MIN_SCORE = 1e-6


def check_limit(limit: int, *, maximum: int = MAX_PAGE_SIZE) -> int:
    """``limit`` if 1 ≤ limit ≤ ``maximum``; InvalidInputError (field ``limit``) otherwise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidInputError(f"limit must be an integer from 1 to {maximum}, got {limit!r}", field="limit")
    return limit


def _mob_names(ports: CorePorts, videos: Iterable[Video]) -> dict[str, str]:
    """Names of the mobs these videos belong to: one names-only read, none when no video has a mob."""
    mob_ids = {v.mob_id for v in videos if v.mob_id}
    return ports.mobs.names(mob_ids) if mob_ids else {}


def to_view(ports: CorePorts, config: CoreConfig, video: Video, mob_names: dict[str, str] | None = None) -> VideoView:
    """The video with its media URLs (once its file exists) and its mob's name."""
    names = mob_names if mob_names is not None else _mob_names(ports, [video])
    expires = config.read_url_expires_seconds
    has_file = video.status is not VideoStatus.PENDING_UPLOAD and (
        video.failure is None or video.failure.step != "upload"
    )
    return VideoView.of(
        video,
        video_url=ports.media.read_url(video.media_key, expires_in=expires, version=video.media_version)
        if has_file
        else None,
        thumbnail_url=ports.media.thumbnail_url(video.thumbnail_key, expires_in=expires)
        if video.thumbnail_key
        else None,
        mob_name=names.get(video.mob_id) if video.mob_id else None,
    )


def to_views(ports: CorePorts, config: CoreConfig, videos: list[Video]) -> list[VideoView]:
    """Views of ``videos``, reading the mob names once."""
    names = _mob_names(ports, videos)
    return [to_view(ports, config, v, names) for v in videos]


def view_page(ports: CorePorts, config: CoreConfig, page: Page[Video]) -> Page[VideoView]:
    """The same page, as views."""
    return Page(items=to_views(ports, config, page.items), next_cursor=page.next_cursor)


def get_video(ports: CorePorts, config: CoreConfig, video_id: str) -> VideoView:
    """One video as users see it; NotFoundError if unknown."""
    return to_view(ports, config, ports.videos.get(video_id, with_embedding=False))


def list_user_videos(
    ports: CorePorts, config: CoreConfig, user_id: str, *, limit: int, cursor: str | None
) -> Page[VideoView]:
    """A user's videos, newest first (InvalidInputError without a user id)."""
    if not user_id or not user_id.strip():
        raise InvalidInputError("userId is required", field="userId")
    page = ports.videos.list_by_user(user_id.strip(), limit=check_limit(limit), cursor=cursor)
    return view_page(ports, config, page)


def feed(
    ports: CorePorts, config: CoreConfig, *, limit: int, cursor: str | None, mob_id: str | None
) -> Page[VideoView]:
    """Validated videos, newest first. With ``mob_id``: that mob's videos (only validated videos
    belong to a mob); NotFoundError for an unknown mob."""
    check_limit(limit)
    if mob_id is not None:
        ports.mobs.get(mob_id)
        page = _validated_only(ports.videos.list_by_mob(mob_id, limit=limit, cursor=cursor))
    else:
        page = ports.videos.list_by_status(VideoStatus.VALIDATED, limit=limit, cursor=cursor)
    return view_page(ports, config, page)


def _validated_only(page: Page[Video]) -> Page[Video]:
    """Mob pages show validated members only: a member that just failed may still carry its mob id
    for the moment ``mark_failed`` needs to leave the mob (the page may then be one item short)."""
    return Page(items=[v for v in page.items if v.status is VideoStatus.VALIDATED], next_cursor=page.next_cursor)


def list_mobs(ports: CorePorts) -> list[Mob]:
    """Mobs with members, largest first (emptied mobs wait for the next batch run to be removed)."""
    return [mob for mob in ports.mobs.list_all() if mob.video_count > 0]


def get_mob(ports: CorePorts, config: CoreConfig, mob_id: str, *, limit: int, cursor: str | None) -> MobDetail:
    """A mob and a page of its validated videos."""
    mob = ports.mobs.get(mob_id)
    page = _validated_only(ports.videos.list_by_mob(mob_id, limit=check_limit(limit), cursor=cursor))
    views = [to_view(ports, config, v, {mob.mob_id: mob.name}) for v in page.items]
    return MobDetail(mob=mob, videos=views, next_cursor=page.next_cursor)


def _search(
    ports: CorePorts,
    config: CoreConfig,
    vector: Vector,
    *,
    limit: int,
    mob_id: str | None,
    exclude: str | None,
) -> list[SimilarResult]:
    """Validated neighbours by true cosine, best first; hits whose record is gone are dropped."""
    if mob_id is not None:
        ports.mobs.get(mob_id)
    hits = ports.index.search(
        vector, k=check_limit(limit), mob_id=mob_id, status=VideoStatus.VALIDATED, exclude_video_id=exclude
    )
    hits = sorted((h for h in hits if h.video_id != exclude), key=lambda h: -h.score)
    found = {v.video_id: v for v in ports.videos.get_many([h.video_id for h in hits], with_embedding=False)}
    # Only what the record confirms is validated: the index may briefly lag a status change.
    videos = [
        found[h.video_id] for h in hits if h.video_id in found and found[h.video_id].status is VideoStatus.VALIDATED
    ]
    views = {v.video_id: v for v in to_views(ports, config, videos)}
    return [SimilarResult(video=views[h.video_id], score=h.score) for h in hits if h.video_id in views]


def similar_videos(
    ports: CorePorts, config: CoreConfig, video_id: str, *, limit: int, mob_id: str | None
) -> SimilarVideos:
    """Validated videos most similar to ``video_id`` (never itself), with cosine scores."""
    video = ports.videos.get(video_id, with_embedding=False)  # NotFoundError first
    vector = ports.index.get_vector(video_id)
    if vector is None:  # not indexed (yet, or any more): the record's own embedding, if it has one
        video = ports.videos.get(video_id)
        vector = video.embedding.vector if video.embedding is not None else None
    if vector is None:
        raise ConflictError(
            f"video {video_id} is {video.status.value} and has no embedding yet; similar search needs its analysis",
            video_id=video_id,
        )
    results = _search(ports, config, vector, limit=limit, mob_id=mob_id, exclude=video_id)
    return SimilarVideos(video_id=video_id, results=results)


def search_text(ports: CorePorts, config: CoreConfig, text: str, *, limit: int, mob_id: str | None) -> SimilarVideos:
    """Validated videos closest to ``text`` through the analyzer's text embedding."""
    query = (text or "").strip()
    if not query:
        raise InvalidInputError("the search text is empty", field="q")
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInputError(f"the search text is longer than {MAX_QUERY_LENGTH} characters", field="q")
    check_limit(limit)
    output = ports.analyzer.embed_text(query)
    record_usage(ports, output.usage)
    embedding = checked_embedding(ports, output.value)
    results = _search(ports, config, embedding.vector, limit=limit, mob_id=mob_id, exclude=None)
    return SimilarVideos(query=query, results=[r for r in results if r.score > TEXT_MATCH_MIN_SCORE])


def get_validation(ports: CorePorts, video_id: str) -> ValidationResult:
    """The stored validation; NotFoundError if the video or its validation does not exist."""
    video = ports.videos.get(video_id)
    if video.validation is None:
        raise NotFoundError(f"video {video_id} has no validation yet (status {video.status.value})", video_id=video_id)
    return video.validation
