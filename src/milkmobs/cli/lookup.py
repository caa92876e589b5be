"""Ids as people type them: a full id, or the start of one as the tables show it."""

from __future__ import annotations

from collections.abc import Iterator

from milkmobs.core.service import MilkMobs
from milkmobs.core.views import VideoView
from milkmobs.domain import MAX_PAGE_SIZE, InvalidInputError, NotFoundError, VideoStatus
from milkmobs.domain.paging import Page

#: Shorter prefixes would match too much to be worth a search.
MIN_PREFIX = 4


def _unique(given: str, kind: str, matches: list[str]) -> str:
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(f"{kind} {given} not found")
    shown = ", ".join(sorted(matches)[:3])
    raise InvalidInputError(f"{given} starts {len(matches)} {kind} ids ({shown}, …): type more of it")


def all_videos(app: MilkMobs, status: VideoStatus | None = None) -> Iterator[VideoView]:
    """Every video (or those in ``status``), newest first, a page at a time."""
    cursor: str | None = None
    while True:
        page = app.admin_list_videos(status=status, limit=MAX_PAGE_SIZE, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def video_id(app: MilkMobs, given: str) -> str:
    """``given`` itself when a video has that id, else the one video whose id starts with it."""
    try:
        return app.get_video(given).video_id
    except NotFoundError:
        if len(given) < MIN_PREFIX:
            raise
    return _unique(given, "video", [v.video_id for v in all_videos(app) if v.video_id.startswith(given)])


def mob_id(app: MilkMobs, given: str) -> str:
    """``given`` itself when a mob has that id, else the one mob whose id starts with it."""
    ids = [m.mob_id for m in app.list_mobs()]
    if given in ids:
        return given
    if len(given) < MIN_PREFIX:
        raise NotFoundError(f"mob {given} not found")
    return _unique(given, "mob", [i for i in ids if i.startswith(given)])


def filtered_page(
    app: MilkMobs, user_id: str, status: VideoStatus, *, limit: int, cursor: str | None
) -> Page[VideoView]:
    """Up to ``limit`` of the user's videos in ``status``, newest first, and the cursor after them.

    Each read asks for no more than are still wanted, so the cursor never skips a video.
    """
    found: list[VideoView] = []
    while len(found) < limit:
        page = app.list_user_videos(user_id, limit=limit - len(found), cursor=cursor)
        found.extend(v for v in page.items if v.status is status)
        cursor = page.next_cursor
        if cursor is None:
            break
    return Page(items=found, next_cursor=cursor)
