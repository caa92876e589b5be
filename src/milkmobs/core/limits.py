"""One table of processing limits: the longest and largest accepted video, and every timeout that
must hold for it.

Each timeout below is *derived* from the video limits and the model-latency estimates, so raising
``max_video_seconds`` raises the Bedrock read timeout, the Pegasus task and Lambda timeouts, the
Marengo polling budget and the execution timeout together. Who reads what:

- ``core/workflow.py``: the task timeouts, the polling budget and the execution timeout;
- ``deploy/``: each workflow function's Lambda timeout (the longest timeout of the tasks it runs);
- ``adapters/aws/factory_models.py``: the Bedrock client's read timeout and the analyzer's own
  embedding wait;
- ``settings.py``: the default (and ceiling) of ``max_video_seconds`` and ``max_upload_bytes``.

The latency estimates are conservative guesses, not measurements: Bedrock publishes none for the
TwelveLabs models; public callers give Pegasus several minutes for long videos. Correct them here
when real timings are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Lambda's hard ceiling on a function's timeout.
LAMBDA_MAX_TIMEOUT_SECONDS = 900
#: A never-uploaded record is kept this long after its upload URL expired; the sweep deletes it
#: then, and DynamoDB's TTL removes it one more grace period later if the sweep did not run.
PENDING_UPLOAD_GRACE_SECONDS = 24 * 3600


def pending_upload_ttl_seconds(upload_url_expires_seconds: int) -> int:
    """Seconds after its creation at which a ``pending_upload`` record's DynamoDB TTL falls due."""
    return upload_url_expires_seconds + 2 * PENDING_UPLOAD_GRACE_SECONDS


@dataclass(frozen=True)
class ProcessingLimits:
    """The table. Fields are inputs; properties are what the rest of the code reads."""

    #: The longest video accepted (the probe in MarkProcessing refuses longer ones).
    max_video_seconds: int = 180
    #: The largest upload accepted (the presigned POST and the upload handler refuse larger ones).
    max_upload_bytes: int = 500 * 1024 * 1024
    #: Pegasus: fixed start-up plus seconds of processing per second of video.
    pegasus_base_seconds: int = 30
    pegasus_seconds_per_video_second: float = 1.0
    #: Marengo's asynchronous job: the same shape.
    marengo_base_seconds: int = 30
    marengo_seconds_per_video_second: float = 1.0
    #: A model Lambda's work around the model call (cold start, HEAD of the video, metrics).
    model_lambda_overhead_seconds: int = 90
    #: Every other workflow step (store writes, validation, clustering, the probe of the file).
    store_step_seconds: int = 30
    #: Marengo polling: the wait between two checks, and one check's own timeout. Each check is four
    #: billed Step Functions transitions; 20 s keeps a 30 s video at three checks (docs/capacity.md).
    marengo_poll_interval_seconds: int = 20
    marengo_check_seconds: int = 30

    def __post_init__(self) -> None:
        if self.max_video_seconds <= 0 or self.max_upload_bytes <= 0:
            raise ValueError("the longest and largest accepted video must be positive")
        if self.model_task_seconds > LAMBDA_MAX_TIMEOUT_SECONDS:
            raise ValueError(
                f"a {self.max_video_seconds} s video needs a {self.model_task_seconds} s model step, above "
                f"Lambda's {LAMBDA_MAX_TIMEOUT_SECONDS} s: lower max_video_seconds"
            )

    # --- derived -----------------------------------------------------------------------------
    @property
    def pegasus_call_seconds(self) -> int:
        """How long one Pegasus call on the longest video may take: the Bedrock client's read timeout."""
        return math.ceil(self.pegasus_base_seconds + self.pegasus_seconds_per_video_second * self.max_video_seconds)

    @property
    def bedrock_read_timeout_seconds(self) -> int:
        return self.pegasus_call_seconds

    @property
    def marengo_job_seconds(self) -> int:
        """How long Marengo's job on the longest video may take: the polling budget (and the
        analyzer's own wait when it embeds blocking)."""
        return math.ceil(self.marengo_base_seconds + self.marengo_seconds_per_video_second * self.max_video_seconds)

    @property
    def marengo_max_polls(self) -> int:
        """Checks of the embedding job before the workflow gives up (the budget over the interval)."""
        return math.ceil(self.marengo_job_seconds / self.marengo_poll_interval_seconds)

    @property
    def model_task_seconds(self) -> int:
        """The timeout of a model step (and of its Lambda): the call, plus the work around it. The
        Bedrock read timeout ends a hung call before Lambda kills the function, so the step fails
        with a named error instead of a sandbox timeout."""
        return max(self.pegasus_call_seconds, self.marengo_job_seconds) + self.model_lambda_overhead_seconds

    @property
    def marengo_polling_seconds(self) -> int:
        """The longest the polling loop can run: every check taking its whole timeout."""
        return self.marengo_max_polls * (self.marengo_poll_interval_seconds + self.marengo_check_seconds)

    @property
    def execution_seconds(self) -> int:
        """The execution timeout: every step on the longest path may use its whole timeout once
        (mark processing; the slower of Pegasus and start + polling; write, validate, cluster,
        emit; the catch), rounded up to whole minutes. A video that also needs many retries may
        reach it; the stack then records the timeout on the video."""
        analysis = max(self.model_task_seconds, self.model_task_seconds + self.marengo_polling_seconds)
        total = self.store_step_seconds + analysis + 4 * self.store_step_seconds + self.store_step_seconds
        return 60 * math.ceil(total / 60)


#: The limits every part of milkmobs derives its timeouts from.
LIMITS = ProcessingLimits()

__all__ = [
    "LAMBDA_MAX_TIMEOUT_SECONDS",
    "LIMITS",
    "PENDING_UPLOAD_GRACE_SECONDS",
    "ProcessingLimits",
    "pending_upload_ttl_seconds",
]
