"""One table of limits: no accepted video can outlast the timeouts derived from it."""

from __future__ import annotations

import pytest
from tests.unit.core_support import CAMPAIGN_BYTES, make_app, upload

from milkmobs.core.limits import LAMBDA_MAX_TIMEOUT_SECONDS, LIMITS, ProcessingLimits
from milkmobs.core.workflow import ANALYSIS_WORKFLOW
from milkmobs.core.workflow_model import PollUntilDone, Task, longest_path_seconds
from milkmobs.domain import VideoStatus
from milkmobs.settings import Settings


def _steps() -> dict[str, Task | PollUntilDone]:
    found: dict[str, Task | PollUntilDone] = {t.name: t for t in ANALYSIS_WORKFLOW.tasks()}
    for step in ANALYSIS_WORKFLOW.steps:
        for branch in getattr(step, "branches", ()):
            found.update({s.name: s for s in branch if isinstance(s, PollUntilDone)})
    return found


@pytest.mark.parametrize(
    "limits",
    [LIMITS, ProcessingLimits(max_video_seconds=30), ProcessingLimits(max_video_seconds=600)],
    ids=["default", "short", "long"],
)
def test_the_longest_accepted_video_fits_every_derived_timeout(limits: ProcessingLimits) -> None:
    longest = limits.max_video_seconds
    pegasus = limits.pegasus_base_seconds + limits.pegasus_seconds_per_video_second * longest
    marengo = limits.marengo_base_seconds + limits.marengo_seconds_per_video_second * longest
    # the client waits as long as Pegasus may take, and gives up before Lambda would kill it
    assert pegasus <= limits.bedrock_read_timeout_seconds < limits.model_task_seconds <= LAMBDA_MAX_TIMEOUT_SECONDS
    # the polling loop checks for at least as long as Marengo's job may take
    assert limits.marengo_max_polls * limits.marengo_poll_interval_seconds >= marengo
    assert limits.execution_seconds >= limits.model_task_seconds + limits.marengo_polling_seconds


def test_a_limit_the_timeouts_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="above Lambda's 900 s"):
        ProcessingLimits(max_video_seconds=3600)


def test_the_workflow_takes_its_timeouts_from_the_table() -> None:
    steps = _steps()
    assert steps["PegasusAnalysis"].timeout_seconds == LIMITS.model_task_seconds  # type: ignore[union-attr]
    assert steps["StartEmbedding"].timeout_seconds == LIMITS.model_task_seconds  # type: ignore[union-attr]
    poll = steps["Embedding"]
    assert isinstance(poll, PollUntilDone)
    assert poll.max_polls * poll.wait.seconds >= LIMITS.marengo_job_seconds
    assert ANALYSIS_WORKFLOW.timeout_seconds == LIMITS.execution_seconds


def test_the_execution_timeout_covers_every_step_using_its_whole_timeout_once() -> None:
    # computed from the definition itself, whatever the table says
    assert ANALYSIS_WORKFLOW.timeout_seconds >= longest_path_seconds(ANALYSIS_WORKFLOW)


def test_settings_cannot_accept_more_than_the_timeouts_were_derived_for() -> None:
    assert Settings().uploads.max_video_seconds == LIMITS.max_video_seconds
    assert Settings().uploads.max_upload_bytes == LIMITS.max_upload_bytes
    with pytest.raises(ValueError, match="max_video_seconds"):
        Settings(uploads={"max_video_seconds": LIMITS.max_video_seconds + 1})
    with pytest.raises(ValueError, match="max_upload_bytes"):
        Settings(uploads={"max_upload_bytes": LIMITS.max_upload_bytes + 1})


def test_a_video_longer_than_the_limit_fails_with_a_reason_naming_the_limit() -> None:
    # the memory backend's probe reads 250 kB as one second: 256 kB is a 1.02 s video
    with make_app(settings={"uploads": {"max_video_seconds": 1}}) as app:
        video = upload(app, data=CAMPAIGN_BYTES * 1000)
        assert video.status is VideoStatus.FAILED
        assert video.failure is not None and video.failure.step == "MarkProcessing"
        assert video.failure.error_type == "PayloadTooLargeError"
        assert "the longest accepted is 1 s (MILKMOBS_UPLOADS__MAX_VIDEO_SECONDS)" in video.failure.error
        assert app.ports.analyzer is not None and app.ports.index.count() == 0


def test_a_video_within_the_limit_is_analysed() -> None:
    with make_app(settings={"uploads": {"max_video_seconds": 2}}) as app:
        assert upload(app, data=CAMPAIGN_BYTES * 1000).status is VideoStatus.VALIDATED
