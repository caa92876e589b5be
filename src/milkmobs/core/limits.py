"""One table of processing limits: the longest and largest accepted video, and every timeout that
must hold for it.

Each timeout below is *derived* from the video limits and the model-latency estimates, so raising
``max_video_seconds`` raises the Bedrock read timeout, the Pegasus task and Lambda timeouts, the
Marengo polling budget and the execution timeout together. Who reads what:

- ``core/workflow.py``: the task timeouts, the polling budget and the execution timeout;
- ``deploy/``: each workflow function's Lambda timeout (the longest timeout of the tasks it runs);
- ``adapters/aws/clients.py``: the Bedrock client's read timeout and every client's retry budget
  (botocore owns a call's throttling and transient faults, docs/architecture.md "Retries");
- ``adapters/aws/factory_models.py``: the analyzer's own embedding wait;
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


#: botocore's standard retry mode, which owns a call's throttling and transient faults: the wait
#: before retry i (0-based) is at most ``min(BASE · 2^i, CAP)`` (full jitter draws it from [0, that]),
#: and a service's ``x-amz-retry-after`` header may lengthen it by up to ``RETRY_AFTER_EXTRA``. A test
#: holds these to botocore's own ``ExponentialBackoff``.
RETRY_WAIT_BASE_SECONDS = 1
RETRY_WAIT_CAP_SECONDS = 20
RETRY_AFTER_EXTRA_SECONDS = 5


def retry_wait_seconds(attempts: int) -> int:
    """The longest botocore can wait between ``attempts`` tries of one call (every wait at its ceiling)."""
    return sum(
        min(RETRY_WAIT_BASE_SECONDS * 2**i, RETRY_WAIT_CAP_SECONDS) + RETRY_AFTER_EXTRA_SECONDS
        for i in range(attempts - 1)
    )


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
    model_lambda_overhead_seconds: int = 30
    #: Every other workflow step (store writes, validation, clustering, the probe of the file).
    store_step_seconds: int = 30
    #: Marengo polling: the wait between two checks, and one check's own work. Each check is four
    #: billed Step Functions transitions; 20 s keeps a 30 s video at three checks (docs/capacity.md).
    marengo_poll_interval_seconds: int = 20
    marengo_check_seconds: int = 30
    #: botocore's tries of one AWS call (the first included) before its throttling or transient fault
    #: reaches the caller, which retries it no more: DynamoDB, S3, EventBridge, CloudWatch, Step
    #: Functions… Their waits must end inside a store step.
    aws_call_attempts: int = 4
    #: The same for Bedrock, whose quotas are per minute: its waits reach about a minute.
    bedrock_call_attempts: int = 6
    #: API Gateway ends an integration after 29 s; an API function's calls must give up before it.
    api_answer_seconds: int = 29
    #: A text search's Bedrock call (Marengo text embedding) answers a person waiting on the API: two
    #: short tries, so a throttled Bedrock gives the caller a 503 rather than API Gateway's 504.
    bedrock_text_call_attempts: int = 2
    bedrock_text_connect_timeout_seconds: int = 3
    bedrock_text_read_timeout_seconds: int = 6

    def __post_init__(self) -> None:
        if self.max_video_seconds <= 0 or self.max_upload_bytes <= 0:
            raise ValueError("the longest and largest accepted video must be positive")
        if self.model_task_seconds > LAMBDA_MAX_TIMEOUT_SECONDS:
            raise ValueError(
                f"a {self.max_video_seconds} s video needs a {self.model_task_seconds} s model step, above "
                f"Lambda's {LAMBDA_MAX_TIMEOUT_SECONDS} s: lower max_video_seconds"
            )
        if min(self.aws_call_attempts, self.bedrock_call_attempts) < 1:
            raise ValueError("an AWS call needs at least one attempt")
        if self.bedrock_text_call_seconds >= self.api_answer_seconds:
            raise ValueError(
                f"a text search's Bedrock call may take {self.bedrock_text_call_seconds} s, not less than API "
                f"Gateway's {self.api_answer_seconds} s: lower bedrock_text_call_attempts or its timeouts"
            )
        if self.aws_retry_wait_seconds >= self.store_step_seconds:
            raise ValueError(
                f"{self.aws_call_attempts} tries of an AWS call may wait {self.aws_retry_wait_seconds} s, "
                f"longer than a {self.store_step_seconds} s store step: lower aws_call_attempts"
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
    def aws_retry_wait_seconds(self) -> int:
        """The longest botocore waits between the tries of one data-plane AWS call."""
        return retry_wait_seconds(self.aws_call_attempts)

    @property
    def bedrock_retry_wait_seconds(self) -> int:
        """The longest botocore waits between the tries of one Bedrock call."""
        return retry_wait_seconds(self.bedrock_call_attempts)

    @property
    def bedrock_text_call_seconds(self) -> int:
        """The longest a text search's Bedrock call can take: every try at both its timeouts, and
        botocore's waits between them."""
        per_try = self.bedrock_text_connect_timeout_seconds + self.bedrock_text_read_timeout_seconds
        return self.bedrock_text_call_attempts * per_try + retry_wait_seconds(self.bedrock_text_call_attempts)

    @property
    def model_task_seconds(self) -> int:
        """The timeout of a model step (and of its Lambda), in whole minutes: the call, botocore's
        waits while Bedrock throttles it, and the work around it. Throttling and the Bedrock read
        timeout both end before Lambda kills the function, so the step fails with a named error
        instead of a sandbox timeout."""
        seconds = (
            max(self.pegasus_call_seconds, self.marengo_job_seconds)
            + self.bedrock_retry_wait_seconds
            + self.model_lambda_overhead_seconds
        )
        return 60 * math.ceil(seconds / 60)

    @property
    def marengo_check_timeout_seconds(self) -> int:
        """The timeout of one check of the embedding job: its work and botocore's waits on Bedrock."""
        return self.marengo_check_seconds + self.bedrock_retry_wait_seconds

    @property
    def marengo_polling_seconds(self) -> int:
        """The longest the polling loop can run: every check taking its whole timeout."""
        return self.marengo_max_polls * (self.marengo_poll_interval_seconds + self.marengo_check_timeout_seconds)

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
    "RETRY_AFTER_EXTRA_SECONDS",
    "RETRY_WAIT_BASE_SECONDS",
    "RETRY_WAIT_CAP_SECONDS",
    "ProcessingLimits",
    "pending_upload_ttl_seconds",
    "retry_wait_seconds",
]
