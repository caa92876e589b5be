"""The crash matrix: kill the pipeline right after each store write of a scenario, restart, check.

For each scenario the child process is killed after write 1, then (from a fresh copy of the same
starting data) after write 2, and so on until a run finishes before its crash point: every step
commit and every write inside a step is a crash point. After each kill a restart (the background
app, whose start-up recovery runs) must leave the invariants of ``tests.crash.invariants`` holding,
and the scenario's videos in the status a run without a crash gives them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest
from milkmobs.domain import VideoStatus
from tests.crash.harness import WriteCounter, counted_build, fresh_copy, recovered, run_until_crash
from tests.crash.invariants import all_videos, check

CAMPAIGN = b"GOT MILK #gotmilk drinking milk " * 8
OFF_TOPIC = b"a skateboard trick at the park " * 8
#: More crash points than any scenario has: a run that never finishes fails the test.
MAX_WRITES = 200


def _submit(app: MilkMobs, title: str, hashtags: list[str]) -> str:
    return app.submit_video(SubmitRequest(user_id="u1", title=title, hashtags=hashtags)).video_id


def _upload_pending(data: bytes) -> Callable[[MilkMobs], None]:
    def scenario(app: MilkMobs) -> None:
        for video in all_videos(app):
            if video.status is VideoStatus.PENDING_UPLOAD:
                app.upload_video(video.video_id, data)

    return scenario


def _recluster(app: MilkMobs) -> None:
    app.recluster()


def _delete_one(app: MilkMobs) -> None:
    app.delete_video(sorted(v.video_id for v in all_videos(app))[0])


def _seed(data_dir: Path, analysed: list[tuple[str, list[str]]], pending: int) -> Path:
    """Videos analysed in full, then ``pending`` submitted ones waiting for their upload."""
    app = counted_build(data_dir, WriteCounter(None))
    try:
        for i, (title, tags) in enumerate(analysed):  # distinct files: a user's same file is stored once
            app.upload_video(_submit(app, title, tags), CAMPAIGN + f"{title} {i}".encode())
        for i in range(pending):
            _submit(app, f"new clip {i}", ["gotmilk", "picnic"])
    finally:
        app.close()
    return data_dir


THEMES = [("milk at the beach", ["gotmilk", "beach"]), ("milk skating", ["gotmilk", "skate"])]

# name: (analysed first, submitted, what the child does, final status of the submitted videos, models down)
SCENARIOS: dict[str, tuple[list[tuple[str, list[str]]], int, Callable[[MilkMobs], None], VideoStatus, bool]] = {
    "founds-a-mob": ([], 1, _upload_pending(CAMPAIGN), VideoStatus.VALIDATED, False),
    "joins-a-mob": (THEMES[:1], 1, _upload_pending(CAMPAIGN), VideoStatus.VALIDATED, False),
    "rejected": (THEMES[:1], 1, _upload_pending(OFF_TOPIC), VideoStatus.REJECTED, False),
    "models-down-fails": (THEMES[:1], 1, _upload_pending(CAMPAIGN), VideoStatus.FAILED, True),
    "batch-recluster": (THEMES * 3, 0, _recluster, VideoStatus.VALIDATED, False),
    "admin-deletes": (THEMES * 2, 0, _delete_one, VideoStatus.VALIDATED, False),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_crash_after_any_write_is_recovered(name: str, tmp_path: Path) -> None:
    analysed, pending, scenario, final, models_down = SCENARIOS[name]
    template = _seed(tmp_path / "template", analysed, pending)
    problems: list[str] = []
    for crash_at in range(1, MAX_WRITES + 1):
        data_dir = fresh_copy(template, tmp_path / f"crash-{crash_at}")
        finished = run_until_crash(data_dir, crash_at, scenario, models_down=models_down)
        with recovered(data_dir, models_down=models_down) as app:
            findings = check(app, data_dir)
            if not findings.clean:
                problems.append(f"killed after write {crash_at}:\n{findings}")
            for video in all_videos(app):
                if video.status not in (final, VideoStatus.PENDING_UPLOAD, VideoStatus.VALIDATED):
                    problems.append(f"killed after write {crash_at}: video {video.title!r} is {video.status.value}")
                if video.title.startswith("new clip") and video.status not in (final, VideoStatus.PENDING_UPLOAD):
                    problems.append(f"killed after write {crash_at}: {video.title!r} ended {video.status.value}")
        if finished is not None:
            assert crash_at > finished
            break
        if crash_at > 3:  # later copies are only needed while they are being checked
            import shutil

            shutil.rmtree(tmp_path / f"crash-{crash_at - 3}", ignore_errors=True)
    else:
        pytest.fail(f"scenario {name} still writing after {MAX_WRITES} writes")
    assert crash_at > 3, f"scenario {name} made only {crash_at - 1} writes: the counting is broken"
    assert not problems, "\n\n".join(problems)
