"""Random sequences of use cases: only legal status paths occur, and a refused call changes nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.core_support import CAMPAIGN_BYTES, OFF_TOPIC_BYTES, make_app, own_file, snapshot, submit

from milkmobs.core import steps
from milkmobs.domain import ALLOWED_TRANSITIONS, MilkmobsError, NotFoundError, StartResult, VideoStatus


class _ManualWorkflow:
    def start(self, video_id: str) -> StartResult:
        return StartResult(execution_id=video_id)

    def history(self, video_id: str) -> list[Any]:
        return []


OPERATIONS = [
    "upload_good",
    "upload_off_topic",
    "upload_empty",
    "event_again",
    "mark_processing",
    "analyse",
    "validate",
    "revalidate",
    "cluster",
    "emit",
    "fail",
    "delete",
    "recluster",
]


def _apply(app: Any, op: str, video_id: str) -> None:
    video = app.ports.videos.get(video_id)
    if op.startswith("upload_"):
        data = {"upload_good": CAMPAIGN_BYTES, "upload_off_topic": OFF_TOPIC_BYTES, "upload_empty": b""}[op]
        data = own_file(data, video_id)
        if video.status is not VideoStatus.PENDING_UPLOAD:
            app.upload_video(video_id, data)  # refused: ConflictError
        app.ports.media.put(video.media_key, data)
        app.on_object_created(video.media_key, len(data))
    elif op == "event_again":
        app.on_object_created(video.media_key)
    elif op == "mark_processing":
        steps.mark_processing(app.context, video_id)
    elif op == "analyse":
        steps.write_results(
            app.context, video_id, steps.describe_video(app.context, video_id), steps.embed_video(app.context, video_id)
        )
    elif op == "validate" or op == "revalidate":
        app.revalidate(video_id)
    elif op == "cluster":
        steps.cluster_video(app.context, video_id)
    elif op == "emit":
        steps.emit_analyzed(app.context, video_id)
    elif op == "fail":
        steps.mark_failed(app.context, video_id, step="test", error="injected")
    elif op == "delete":
        app.delete_video(video_id)
    else:
        app.recluster()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(min_value=0, max_value=2)), max_size=30))
def test_only_legal_status_paths_occur(ops) -> None:  # type: ignore[no-untyped-def]
    with make_app(workflow=_ManualWorkflow()) as app:
        ids = [submit(app, hashtags=["gotmilk"]) for _ in range(3)]
        seen = {video_id: [VideoStatus.PENDING_UPLOAD] for video_id in ids}
        for op, which in ops:
            video_id = ids[which]
            before = snapshot(app)
            try:
                _apply(app, op, video_id)
            except NotFoundError:
                assert snapshot(app) == before
            except MilkmobsError:
                assert snapshot(app) == before, f"{op} on {video_id} was refused but changed the stores"
            for vid in ids:
                try:
                    status = app.ports.videos.get(vid).status
                except NotFoundError:
                    continue
                if status is not seen[vid][-1]:
                    assert status in ALLOWED_TRANSITIONS[seen[vid][-1]], f"{seen[vid]} → {status} after {op}"
                    seen[vid].append(status)
