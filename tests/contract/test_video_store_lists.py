"""VideoStore contract: newest-first lists, paging and cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milkmobs.domain import InvalidInputError, Page, Video, VideoStatus
from tests.contract.support import T0, collect_pages, make_video, newest_first

Store = Any
PAGE_SIZES = [1, 2, 3, 7, 50]


def _mixed_videos() -> list[Video]:
    """17 videos over two users, three statuses and two mobs, with created_at ties."""
    statuses = [VideoStatus.VALIDATED, VideoStatus.REJECTED, VideoStatus.PENDING_UPLOAD]
    return [
        make_video(
            f"v{i:02d}",
            user_id="alice" if i % 3 else "bob",
            created_at=T0 + timedelta(seconds=i // 2),  # pairs share a timestamp: ties break by id
            status=statuses[i % 3],
            mob_id=("m1" if i % 2 else "m2") if statuses[i % 3] is VideoStatus.VALIDATED else None,
        )
        for i in range(17)
    ]


def _lists(store: Store) -> dict[str, tuple[Callable[[str | None, int], Page[Video]], Callable[[Video], bool]]]:
    """Every list the port offers, with the predicate it must select by."""
    return {
        "user alice": (lambda c, n: store.list_by_user("alice", limit=n, cursor=c), lambda v: v.user_id == "alice"),
        "user bob": (lambda c, n: store.list_by_user("bob", limit=n, cursor=c), lambda v: v.user_id == "bob"),
        "user nobody": (lambda c, n: store.list_by_user("nobody", limit=n, cursor=c), lambda v: False),
        "all": (lambda c, n: store.list_by_status(None, limit=n, cursor=c), lambda v: True),
        "validated": (
            lambda c, n: store.list_by_status(VideoStatus.VALIDATED, limit=n, cursor=c),
            lambda v: v.status is VideoStatus.VALIDATED,
        ),
        "rejected": (
            lambda c, n: store.list_by_status(VideoStatus.REJECTED, limit=n, cursor=c),
            lambda v: v.status is VideoStatus.REJECTED,
        ),
        "failed": (
            lambda c, n: store.list_by_status(VideoStatus.FAILED, limit=n, cursor=c),
            lambda v: v.status is VideoStatus.FAILED,
        ),
        "mob m1": (lambda c, n: store.list_by_mob("m1", limit=n, cursor=c), lambda v: v.mob_id == "m1"),
        "mob m2": (lambda c, n: store.list_by_mob("m2", limit=n, cursor=c), lambda v: v.mob_id == "m2"),
    }


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_every_list_pages_through_every_item_once_newest_first(video_store: Store, limit: int) -> None:
    videos = _mixed_videos()
    for video in videos:
        video_store.add(video)
    for name, (fetch, selects) in _lists(video_store).items():
        expected = newest_first([v for v in videos if selects(v)])
        got = collect_pages(lambda c, fetch=fetch: fetch(c, limit), limit=limit)  # type: ignore[misc]
        assert got == expected, f"list {name!r} with page size {limit}"


def test_pages_carry_the_full_records(video_store: Store) -> None:
    videos = _mixed_videos()
    for video in videos:
        video_store.add(video)
    page = video_store.list_by_user("bob", limit=2)
    assert len(page.items) == 2
    for item in page.items:
        assert item == next(v for v in videos if v.video_id == item.video_id)


def test_an_empty_list_has_no_cursor(video_store: Store) -> None:
    page = video_store.list_by_status(None, limit=5)
    assert page.items == [] and page.next_cursor is None


def _cursor_after_first_page(store: Store) -> str:
    for i in range(5):
        store.add(make_video(f"a{i}", user_id="alice", created_at=T0 + timedelta(seconds=i), mob_id="m1"))
        store.add(make_video(f"b{i}", user_id="bob", created_at=T0 + timedelta(seconds=i), mob_id="m2"))
    cursor = store.list_by_user("alice", limit=2).next_cursor
    assert cursor is not None
    return str(cursor)


def _edited(cursor: str) -> str:
    middle = len(cursor) // 2
    replacement = "A" if cursor[middle] != "A" else "B"
    return cursor[:middle] + replacement + cursor[middle + 1 :]


def _forged() -> list[str]:
    payload = base64.urlsafe_b64encode(json.dumps({"q": "x", "k": ["2026-03-01T12:00:00+00:00", "a3"]}).encode())
    return ["not-a-cursor", "!!!", payload.decode(), f"{payload.decode()}.AAAA", "e30", "null"]


def test_forged_cursors_are_invalid_input(video_store: Store) -> None:
    _cursor_after_first_page(video_store)
    for forged in _forged():
        with pytest.raises(InvalidInputError) as info:
            video_store.list_by_user("alice", limit=2, cursor=forged)
        assert info.value.field == "cursor", forged


def test_edited_and_truncated_cursors_are_invalid_input(video_store: Store) -> None:
    cursor = _cursor_after_first_page(video_store)
    for bad in (_edited(cursor), cursor[:-3], cursor[3:], cursor + "x"):
        with pytest.raises(InvalidInputError) as info:
            video_store.list_by_user("alice", limit=2, cursor=bad)
        assert info.value.field == "cursor"


def test_a_cursor_only_works_for_the_query_that_made_it(video_store: Store) -> None:
    cursor = _cursor_after_first_page(video_store)
    assert video_store.list_by_user("alice", limit=2, cursor=cursor).items  # valid where it belongs
    foreign_uses: list[Callable[[], object]] = [
        lambda: video_store.list_by_user("bob", limit=2, cursor=cursor),
        lambda: video_store.list_by_status(None, limit=2, cursor=cursor),
        lambda: video_store.list_by_status(VideoStatus.PENDING_UPLOAD, limit=2, cursor=cursor),
        lambda: video_store.list_by_mob("m1", limit=2, cursor=cursor),
    ]
    for use in foreign_uses:
        with pytest.raises(InvalidInputError) as info:
            use()
        assert info.value.field == "cursor"
    status_cursor = video_store.list_by_status(VideoStatus.PENDING_UPLOAD, limit=2).next_cursor
    assert status_cursor is not None
    with pytest.raises(InvalidInputError):
        video_store.list_by_status(VideoStatus.VALIDATED, limit=2, cursor=status_cursor)
    with pytest.raises(InvalidInputError):
        video_store.list_by_mob("m2", limit=2, cursor=video_store.list_by_mob("m1", limit=2).next_cursor)


def test_a_cursor_continues_after_its_item_was_deleted(video_store: Store) -> None:
    for i in range(6):
        video_store.add(make_video(f"v{i}", created_at=T0 + timedelta(seconds=i)))
    first = video_store.list_by_status(None, limit=2)
    assert [v.video_id for v in first.items] == ["v5", "v4"]
    video_store.delete("v4")  # the item the cursor points after
    video_store.delete("v3")  # and the next one
    second = video_store.list_by_status(None, limit=2, cursor=first.next_cursor)
    assert [v.video_id for v in second.items] == ["v2", "v1"]
    third = video_store.list_by_status(None, limit=2, cursor=second.next_cursor)
    assert [v.video_id for v in third.items] == ["v0"]
    assert third.next_cursor is None


def test_a_cursor_stays_valid_when_newer_videos_arrive(video_store: Store) -> None:
    for i in range(4):
        video_store.add(make_video(f"v{i}", created_at=T0 + timedelta(seconds=i)))
    first = video_store.list_by_status(None, limit=2)
    video_store.add(make_video("newest", created_at=T0 + timedelta(hours=1)))
    second = video_store.list_by_status(None, limit=2, cursor=first.next_cursor)
    assert [v.video_id for v in second.items] == ["v1", "v0"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from(["alice", "bob"]), st.sampled_from(list(VideoStatus))),
        max_size=14,
    ),
    limit=st.integers(1, 8),
)
def test_paging_returns_every_item_exactly_once_in_order(
    video_store_factory: Callable[[], Any], specs: list[tuple[int, str, VideoStatus]], limit: int
) -> None:
    videos = [
        make_video(f"h{i:02d}", user_id=user, created_at=T0 + timedelta(seconds=second), status=status)
        for i, (second, user, status) in enumerate(specs)
    ]
    with video_store_factory() as store:
        for video in videos:
            store.add(video)
        for status in (None, VideoStatus.VALIDATED, VideoStatus.FAILED):
            expected = newest_first([v for v in videos if status is None or v.status is status])
            got = collect_pages(lambda c, s=status: store.list_by_status(s, limit=limit, cursor=c), limit=limit)
            assert got == expected
        expected = newest_first([v for v in videos if v.user_id == "bob"])
        assert collect_pages(lambda c: store.list_by_user("bob", limit=limit, cursor=c), limit=limit) == expected


def test_lists_follow_saves_that_change_status_or_mob(video_store: Store) -> None:
    for i in range(3):
        video_store.add(make_video(f"v{i}", created_at=T0 + timedelta(seconds=i), status=VideoStatus.PROCESSING))
    v1 = video_store.get("v1")
    joined = v1.transitioned(VideoStatus.VALIDATED, at=T0, mob_id="m1")
    video_store.save(joined, expected_status=VideoStatus.PROCESSING)
    assert [v.video_id for v in video_store.list_by_mob("m1", limit=10).items] == ["v1"]
    assert [v.video_id for v in video_store.list_by_status(VideoStatus.VALIDATED, limit=10).items] == ["v1"]
    assert [v.video_id for v in video_store.list_by_status(VideoStatus.PROCESSING, limit=10).items] == ["v2", "v0"]
    moved = joined.model_copy(update={"mob_id": "m2"})
    video_store.save(moved, expected_status=VideoStatus.VALIDATED)
    assert video_store.list_by_mob("m1", limit=10).items == []
    assert [v.video_id for v in video_store.list_by_mob("m2", limit=10).items] == ["v1"]
    left = moved.transitioned(VideoStatus.REJECTED, at=T0, mob_id=None)
    video_store.save(left, expected_status=VideoStatus.VALIDATED)
    assert video_store.list_by_mob("m2", limit=10).items == []
    assert video_store.list_by_status(VideoStatus.VALIDATED, limit=10).items == []
    assert [v.video_id for v in video_store.list_by_status(VideoStatus.REJECTED, limit=10).items] == ["v1"]
    assert [v.video_id for v in video_store.list_by_status(None, limit=10).items] == ["v2", "v1", "v0"]
