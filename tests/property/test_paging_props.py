"""For any page size, paging returns every item exactly once, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.core_support import OFF_TOPIC_BYTES, make_app, submit, upload

from milkmobs.domain import VideoStatus

KINDS = st.lists(st.sampled_from(["validated", "rejected", "pending", "other_user"]), max_size=18)


def _collect(fetch: Callable[..., Any], limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        page = fetch(limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        ids.extend(v.video_id for v in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("paging did not end")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(KINDS, st.integers(min_value=1, max_value=20))
def test_every_list_pages_through_each_item_once_in_order(kinds, limit) -> None:  # type: ignore[no-untyped-def]
    with make_app() as app:
        made: list[tuple[str, str]] = []
        for kind in kinds:
            if kind == "validated":
                made.append((kind, upload(app, hashtags=["gotmilk"]).video_id))
            elif kind == "rejected":
                made.append((kind, upload(app, data=OFF_TOPIC_BYTES).video_id))
            elif kind == "pending":
                made.append((kind, submit(app)))
            else:
                made.append((kind, submit(app, user="u2")))
        newest_first = [video_id for _, video_id in reversed(made)]
        validated = [i for i in newest_first if app.ports.videos.get(i).status is VideoStatus.VALIDATED]
        assert _collect(app.feed, limit) == validated
        assert _collect(app.admin_list_videos, limit) == newest_first
        mine = [i for k, i in reversed(made) if k != "other_user"]
        assert _collect(lambda **kw: app.list_user_videos("u1", **kw), limit) == mine
        for mob in app.list_mobs():
            members = [i for i in validated if app.ports.videos.get(i).mob_id == mob.mob_id]
            assert _collect(lambda m=mob.mob_id, **kw: app.feed(mob_id=m, **kw), limit) == members
