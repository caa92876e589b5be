"""A writer landing between a step's read and its save is never erased (the lost-update class).

generate-thumbnail runs beside the pipeline (in AWS start-analysis invokes it with the workflow), so
its save can land while any step holds a copy read before it. Whichever read it follows, the step's
save is refused as stale and the step applies its change again to a fresh read: the pipeline ends
where it would have, and the thumbnail is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from tests.unit.core_support import CAMPAIGN_BYTES, OFF_TOPIC_BYTES, make_app, own_file, submit

from milkmobs.adapters.memory import InMemoryVideoStore
from milkmobs.domain import Video, VideoStatus

REGENERATED = "thumbnails/regenerated.jpg"


class InterleavingVideoStore(InMemoryVideoStore):
    """Counts the reads of one video; right after read number ``land_after`` returned its copy,
    another writer saves a thumbnail on the stored record (so that copy is stale)."""

    def __init__(self, land_after: int | None = None) -> None:
        super().__init__()
        self.video_id: str | None = None
        self.reads = 0
        self.land_after = land_after
        self.landed_at_revision: int | None = None

    def get(self, video_id: str, *, with_embedding: bool = True) -> Video:
        copy = super().get(video_id, with_embedding=with_embedding)
        if video_id == self.video_id:
            self.reads += 1
            if self.reads == self.land_after:
                fresh = super().get(video_id)
                landed = fresh.with_thumbnail(REGENERATED, at=fresh.updated_at)
                InMemoryVideoStore.save(self, landed, expected_status=fresh.status)
                self.landed_at_revision = fresh.revision
        return copy

    def get_many(self, video_ids: Sequence[str], *, with_embedding: bool = True) -> list[Video]:
        return [self.get(v, with_embedding=with_embedding) for v in video_ids if v in self._videos]


def _run(data: bytes, land_after: int | None) -> tuple[Video, InterleavingVideoStore]:
    store = InterleavingVideoStore(land_after)
    app = make_app(videos=store, media_processor=None)
    video_id = submit(app, hashtags=["gotmilk"])
    store.video_id = video_id
    app.upload_video(video_id, own_file(data, video_id))
    store.video_id = None  # the test's own read below is not one of the pipeline's
    return app.ports.videos.get(video_id), store


@pytest.mark.parametrize(
    ("data", "ends"),
    [(CAMPAIGN_BYTES, VideoStatus.VALIDATED), (OFF_TOPIC_BYTES, VideoStatus.REJECTED)],
    ids=["validated", "rejected"],
)
def test_a_thumbnail_landing_after_any_read_of_the_pipeline_is_kept_and_the_pipeline_ends_the_same(
    data: bytes, ends: VideoStatus
) -> None:
    undisturbed, dry = _run(data, None)
    assert undisturbed.status is ends and undisturbed.thumbnail_key is None
    assert dry.reads >= 8  # the upload and every step read the record
    for land_after in range(1, dry.reads + 1):
        final, store = _run(data, land_after)
        assert store.landed_at_revision is not None, f"nothing landed after read {land_after}"
        assert final.thumbnail_key == REGENERATED, f"a save erased the thumbnail that landed after read {land_after}"
        assert final.status is ends, f"thumbnail after read {land_after}: {final.status} ({final.failure})"
        assert (final.mob_id is not None) is (ends is VideoStatus.VALIDATED)
        assert final.validation is not None and undisturbed.validation is not None
        assert (final.validation.score, final.validation.passed) == (
            undisturbed.validation.score,
            undisturbed.validation.passed,
        )
        assert final.insights == undisturbed.insights
        assert final.revision == undisturbed.revision + 1  # every save of the undisturbed run, plus the thumbnail


def test_the_revision_is_storage_metadata_out_of_the_json_and_of_equality() -> None:
    app = make_app(media_processor=None)
    video = app.ports.videos.get(submit(app))
    later = video.model_copy(update={"revision": 7})
    assert later == video and later.revision == 7
    assert "revision" not in later.to_json_dict()
    assert Video.model_validate(later.to_json_dict()).revision == 0
