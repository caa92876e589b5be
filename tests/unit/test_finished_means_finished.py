"""A reader never sees a validated video without its mob: every write that stores ``validated`` is
checked, across the pipeline, re-validation and batch re-clustering."""

from __future__ import annotations

from typing import Any

from tests.unit.core_support import CAMPAIGN_BYTES, OFF_TOPIC_BYTES, make_app, upload

from milkmobs.adapters.memory.video_store import InMemoryVideoStore
from milkmobs.domain import Video, VideoStatus


class WatchedVideoStore(InMemoryVideoStore):
    """Records what each stored ``validated`` record said, and whether its mob existed then."""

    def __init__(self) -> None:
        super().__init__()
        self.mob_exists: Any = None
        self.validated_writes: list[tuple[str, str | None, bool]] = []

    def save(self, video: Video, *, expected_status: VideoStatus) -> None:
        super().save(video, expected_status=expected_status)
        if video.status is VideoStatus.VALIDATED:
            exists = video.mob_id is not None and self.mob_exists(video.mob_id)
            self.validated_writes.append((video.video_id, video.mob_id, exists))


def test_every_stored_validated_record_has_an_existing_mob() -> None:
    videos = WatchedVideoStore()
    with make_app(videos=videos, settings={"clustering": {"join_threshold": 0.99, "batch_k": 2}}) as app:

        def mob_exists(mob_id: str) -> bool:
            return any(m.mob_id == mob_id for m in app.ports.mobs.list_all())

        videos.mob_exists = mob_exists
        ids = [upload(app, hashtags=["gotmilk", tag]).video_id for tag in ("beach", "skate", "beach", "park")]
        rejected = upload(app, data=OFF_TOPIC_BYTES, hashtags=["skate"]).video_id
        app.recluster()
        for video_id in [*ids, rejected]:
            app.revalidate(video_id)
        assert upload(app, data=CAMPAIGN_BYTES, hashtags=["gotmilk"]).status is VideoStatus.VALIDATED
    assert len({video_id for video_id, _, _ in videos.validated_writes}) == len(ids) + 1
    assert all(exists for _, _, exists in videos.validated_writes), videos.validated_writes
