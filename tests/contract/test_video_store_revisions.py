"""VideoStore contract, concurrent writers: a save is a compare-and-set on the revision it was read at.

The defect class: a writer reads a record, another writer saves it, the first saves its whole copy
and erases the second's change (a thumbnail, a mob assignment, a failure, a validation). Every save
from a copy older than the stored record is refused whole (VersionConflictError, nothing written);
the caller applies its change again to a fresh read (``milkmobs.core.optimistic``) and both land.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milkmobs.core.optimistic import read_change_save
from milkmobs.domain import NotFoundError, VersionConflictError, Video, VideoStatus
from tests.contract.support import T0, make_video, validation_for

Store = Any
LATER = T0 + timedelta(minutes=5)


@dataclass(frozen=True)
class Writer:
    """One writer of a validated video: its change and how to see it in the stored record."""

    name: str
    change: Callable[[Video], Video]
    shows: Callable[[Video], bool]


#: The writers that really run beside each other on one video: generate-thumbnail, a re-clustering
#: moving it, POST /validate re-scoring it, the sweep (or the workflow's catch) failing it.
WRITERS = (
    Writer(
        "thumbnail",
        lambda v: v.with_thumbnail("thumbnails/c1.jpg", at=LATER),
        lambda v: v.thumbnail_key == "thumbnails/c1.jpg",
    ),
    Writer("re-clustering", lambda v: v.assigned_to("mob-2", at=LATER), lambda v: v.mob_id == "mob-2"),
    Writer(
        "re-validation",
        lambda v: v.with_validation(validation_for(v.video_id, 0.95), at=LATER),
        lambda v: v.validation is not None and v.validation.score == 0.95,
    ),
    Writer(
        "failure",
        lambda v: v.failed_at("cluster", "the mob store kept failing", at=LATER),
        lambda v: v.status is VideoStatus.FAILED and v.failure is not None,
    ),
)


def _validated(video_id: str = "c1") -> Video:
    return make_video(video_id, status=VideoStatus.VALIDATED, mob_id="mob-1", validation=validation_for(video_id, 0.8))


def test_a_new_record_is_at_revision_0_and_each_save_adds_one_to_the_copy_it_saved(video_store: Store) -> None:
    video = _validated()
    video_store.add(video)
    assert video.revision == 0 and video_store.get("c1").revision == 0
    first = video_store.get("c1").with_thumbnail("thumbnails/c1.jpg", at=LATER)
    video_store.save(first, expected_status=VideoStatus.VALIDATED)
    assert first.revision == 1  # the saved copy is the stored record now: it may be changed and saved again
    second = first.assigned_to("mob-2", at=LATER)
    video_store.save(second, expected_status=VideoStatus.VALIDATED)
    assert second.revision == 2
    # every read says which revision it saw, whatever the path
    assert video_store.get("c1").revision == 2
    assert video_store.get("c1", with_embedding=False).revision == 2
    assert [v.revision for v in video_store.get_many(["c1"])] == [2]
    assert [v.revision for v in video_store.get_many(["c1"], with_embedding=False)] == [2]
    for page in (
        video_store.list_by_status(VideoStatus.VALIDATED, limit=5),
        video_store.list_by_status(None, limit=5),
        video_store.list_by_user("user-1", limit=5),
        video_store.list_by_mob("mob-2", limit=5),
    ):
        assert [v.revision for v in page.items] == [2]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(a, b, id=f"{a.name}-then-{b.name}")
        for a, b in itertools.permutations(WRITERS, 2)
        if (a.name, b.name) != ("failure", "re-clustering")  # a failed video is never placed again
    ],
)
def test_two_copies_of_one_revision_changed_in_different_fields_the_second_save_conflicts_and_its_retry_keeps_both(
    video_store: Store, first: Writer, second: Writer
) -> None:
    video_store.add(_validated())
    mine, theirs = video_store.get("c1"), video_store.get("c1")
    assert mine.revision == theirs.revision
    video_store.save(first.change(mine), expected_status=mine.status)
    stats_after_first = video_store.stats()

    with pytest.raises(VersionConflictError) as refused:
        video_store.save(second.change(theirs), expected_status=theirs.status)
    assert refused.value.video_id == "c1"
    stored = video_store.get("c1")
    assert stored == first.change(mine) and stored.revision == 1  # nothing of the refused copy was written
    assert video_store.stats() == stats_after_first

    # The retrying caller: the same change, applied to a fresh read.
    saved = read_change_save(
        lambda: video_store.get("c1"),
        second.change,
        lambda read, changed: video_store.save(changed, expected_status=read.status) or changed,
        what="video c1",
    )
    final = video_store.get("c1")
    assert saved.written and final == saved.record and final.revision == 2
    assert first.shows(final), f"the {first.name} was lost"
    assert second.shows(final), f"the {second.name} was lost"


def test_a_save_from_a_copy_read_before_a_delete_is_not_found_and_brings_nothing_back(video_store: Store) -> None:
    video_store.add(_validated())
    copy = video_store.get("c1")
    video_store.delete("c1")
    with pytest.raises(NotFoundError):
        video_store.save(copy.with_thumbnail("thumbnails/c1.jpg", at=LATER), expected_status=VideoStatus.VALIDATED)
    with pytest.raises(NotFoundError):
        video_store.get("c1")
    assert video_store.stats().total_videos == 0


# --- several writers at once, on threads ---------------------------------------------------------


def _fast(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


#: Per writer, the pause (ms) between its read and its save in each of its writes: the window in
#: which another writer's save lands.
SCHEDULES = st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=4), min_size=2, max_size=4)


@_fast(6)
@given(schedules=SCHEDULES)
def test_concurrent_writers_never_lose_an_acknowledged_write(
    video_store_factory: Callable[[], Any], schedules: list[list[int]]
) -> None:
    """Each writer appends its own hashtags (one field for all: the hardest case), and the first also
    keeps its count in the title (a field of its own). Every save a writer saw succeed must be in the
    final record, and the revision counts exactly the saves that landed."""
    with video_store_factory() as store:
        store.add(make_video("c1"))
        start = threading.Barrier(len(schedules))
        acknowledged: list[list[str]] = [[] for _ in schedules]
        errors: list[BaseException] = []

        def write(writer: int) -> None:
            try:
                start.wait()
                for n, pause_ms in enumerate(schedules[writer]):
                    tag = f"w{writer}n{n}"

                    def change(video: Video, tag: str = tag, pause_ms: int = pause_ms, n: int = n) -> Video:
                        time.sleep(pause_ms / 1000)  # between the read and the save
                        update: dict[str, object] = {"hashtags": [*video.hashtags, tag]}
                        if writer == 0:
                            update["title"] = f"first writer saved {n + 1}"
                        return video.model_copy(update=update)

                    read_change_save(
                        lambda: store.get("c1"),
                        change,
                        lambda read, changed: store.save(changed, expected_status=read.status) or changed,
                        what="video c1",
                        attempts=100,
                    )
                    acknowledged[writer].append(tag)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(len(schedules))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        final = store.get("c1")
        every = [tag for tags in acknowledged for tag in tags]
        assert len(every) == sum(len(s) for s in schedules)
        assert sorted(final.hashtags) == sorted(every), "an acknowledged write was lost"
        for tags in acknowledged:  # each writer's own writes land in its order
            assert [t for t in final.hashtags if t in tags] == tags
        assert final.title == f"first writer saved {len(schedules[0])}"
        assert final.revision == len(every)
