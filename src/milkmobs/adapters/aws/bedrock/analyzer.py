"""``BedrockTwelveLabsAnalyzer``: Pegasus 1.2 insights and Marengo embeddings on Amazon Bedrock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from milkmobs.adapters.aws.bedrock import marengo, pegasus
from milkmobs.adapters.aws.bedrock.config import BedrockAnalyzerConfig
from milkmobs.adapters.aws.bedrock.failures import call_once
from milkmobs.adapters.aws.bedrock.media import BedrockMediaAccess
from milkmobs.adapters.aws.bedrock.models import (
    base_model_id,
    inference_profile_id,
    marengo_text_model_id,
)
from milkmobs.adapters.aws.errors import error_code
from milkmobs.domain import Embedding, Insights, ModelType, ModelUsage, Video
from milkmobs.domain.campaign import Campaign
from milkmobs.domain.errors import (
    AnalysisError,
    InvalidInputError,
    TransientAnalysisError,
)
from milkmobs.ports import EmbeddingJob, ModelOutput

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import InvokeModelResponseTypeDef
    from mypy_boto3_s3 import S3Client


class BedrockTwelveLabsAnalyzer:
    """The ``Analyzer`` and ``AsyncVideoEmbedder`` ports on Bedrock.

    Videos are read by Bedrock straight from ``s3://<media_bucket>/<video.media_key>``. Every
    failure is an ``AnalysisError`` (``TransientAnalysisError`` when retrying later may help)
    naming the video, the model and the service's message; nothing is ever made up.
    """

    def __init__(
        self,
        runtime: BedrockRuntimeClient,
        s3: S3Client,
        config: BedrockAnalyzerConfig,
        *,
        bucket_owner: str | Callable[[], str],
        text_runtime: BedrockRuntimeClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._spec, dimension, option = config.resolved()
        self._runtime = runtime
        self._text_runtime = text_runtime or runtime  # the text search answers the API: its own budget
        self._config = config
        self._dimension = dimension
        self._option = option
        self._sleep = sleep
        self._monotonic = monotonic
        self._now = now
        self._media = BedrockMediaAccess(
            s3, region=config.region, media_bucket=config.media_bucket, bucket_owner=bucket_owner
        )
        self._pegasus_id = base_model_id(config.pegasus_model_id)
        self._pegasus_invoke_id = inference_profile_id(config.pegasus_model_id, config.region)
        self._marengo_id = base_model_id(config.marengo_model_id)
        self._marengo_text_id = marengo_text_model_id(config.marengo_model_id, config.region)
        prefix = config.output_prefix.strip("/")
        self._output_uri = f"s3://{config.output_bucket or config.media_bucket}/{prefix + '/' if prefix else ''}"

    # -- Analyzer -------------------------------------------------------------------------
    @property
    def insights_model_id(self) -> str:
        return self._pegasus_id

    @property
    def embedding_model_id(self) -> str:
        return self._marengo_id

    @property
    def embedding_dimension(self) -> int:
        return self._dimension

    def describe_video(self, video: Video, campaign: Campaign) -> ModelOutput[Insights]:
        """Pegasus insights; one retry with a larger token budget if the answer is cut off or off-schema."""
        uri = self._video_uri(video, self._pegasus_id)
        prompt = pegasus.build_prompt(campaign)
        budget = self._config.max_output_tokens
        usage: list[ModelUsage] = []
        problems: list[str] = []
        for _ in range(2):
            body = pegasus.build_request(
                prompt=prompt,
                media_uri=uri,
                bucket_owner=self._media.bucket_owner(),
                temperature=self._config.temperature,
                max_output_tokens=budget,
            )
            response = self._invoke(
                self._pegasus_invoke_id, body, video_id=video.video_id, model_id=self._pegasus_id, media_uri=uri
            )
            raw = response["body"].read()
            usage.append(self._pegasus_usage(response, video))
            answer = pegasus.parse_answer(raw, model_id=self._pegasus_id)
            if answer.insights is not None:
                return ModelOutput(answer.insights, tuple(usage))
            problems.append(f"{answer.problem} (maxOutputTokens {budget})")
            budget = pegasus.retry_budget(budget)
        raise AnalysisError(
            f"Pegasus ({self._pegasus_id}) gave no usable insights for video {video.video_id} after a retry: "
            + "; then ".join(problems)
            + ". Raise MILKMOBS_MODELS__ANALYSIS_MAX_OUTPUT_TOKENS or shorten the campaign rules",
            video_id=video.video_id,
            model_id=self._pegasus_id,
        )

    def embed_video(self, video: Video) -> ModelOutput[Embedding]:
        """Blocking helper (notebooks, scripts): start the Marengo job and poll until it ends."""
        job = self.start_video_embedding(video)
        deadline = self._monotonic() + self._config.embedding_timeout_seconds
        while True:
            result = self.check_video_embedding(job, video)
            if result is not None:
                return result
            if self._monotonic() >= deadline:
                raise TransientAnalysisError(
                    f"Marengo job {job.job_id} for video {video.video_id} still running after "
                    f"{self._config.embedding_timeout_seconds:.0f} s; check it again later",
                    video_id=video.video_id,
                    model_id=self._marengo_id,
                )
            self._sleep(self._config.poll_interval_seconds)

    def embed_text(self, text: str) -> ModelOutput[Embedding]:
        """Marengo text embedding (InvokeModel), in the same space as video embeddings."""
        if not text.strip():
            raise InvalidInputError("the search text is empty", field="text")
        body = marengo.text_request(self._spec, text)
        response = self._invoke(
            self._marengo_text_id, body, video_id=None, model_id=self._marengo_id, runtime=self._text_runtime
        )
        try:
            segments = marengo.output_segments(response["body"].read())
            vector = marengo.text_vector(segments, dimension=self._dimension)
        except marengo.MarengoOutputError as exc:
            raise AnalysisError(
                f"Marengo ({self._marengo_id}) text embedding is unusable: {exc}", model_id=self._marengo_id
            ) from exc
        usage = ModelUsage(model_id=self._marengo_id, model_type=ModelType.MARENGO, at=self._now())
        return ModelOutput(Embedding.create(vector, model_id=self._marengo_id, dimension=self._dimension), (usage,))

    # -- AsyncVideoEmbedder ---------------------------------------------------------------
    def start_video_embedding(self, video: Video) -> EmbeddingJob:
        """StartAsyncInvoke; a repeated start for the same video returns the same job."""
        uri = self._video_uri(video, self._marengo_id)
        model_input = marengo.video_request(
            self._spec, media_uri=uri, bucket_owner=self._media.bucket_owner(), option=self._option
        )
        token = marengo.client_request_token(video.video_id, self._marengo_id, self._option)

        def start() -> str:
            try:
                return self._runtime.start_async_invoke(
                    modelId=self._marengo_id,
                    modelInput=model_input,
                    outputDataConfig={"s3OutputDataConfig": {"s3Uri": self._output_uri}},
                    clientRequestToken=token,
                )["invocationArn"]
            except ClientError as exc:
                # A retried start whose first try did reach Bedrock: find that job.
                if error_code(exc) == "ConflictException":
                    existing = self._find_job(token)
                    if existing:
                        return existing
                raise

        arn = call_once(
            start,
            operation="StartAsyncInvoke (Marengo video embedding)",
            video_id=video.video_id,
            model_id=self._marengo_id,
            region=self._config.region,
            media_uri=uri,
        )
        return EmbeddingJob(job_id=arn, video_id=video.video_id)

    def check_video_embedding(self, job: EmbeddingJob, video: Video) -> ModelOutput[Embedding] | None:
        """None while the job runs; the embedding once it completed; AnalysisError if it failed."""
        status = call_once(
            lambda: self._runtime.get_async_invoke(invocationArn=job.job_id),
            operation="GetAsyncInvoke (Marengo video embedding)",
            video_id=video.video_id,
            model_id=self._marengo_id,
            region=self._config.region,
        )
        state = status["status"]
        if state == "InProgress":
            return None
        if state != "Completed":
            raise AnalysisError(
                f"Marengo job {job.job_id} for video {video.video_id} ended {state}: "
                f"{status.get('failureMessage') or 'no reason given'}. Check that the video is a decodable "
                "mp4 within Marengo's limits and that Bedrock may write to "
                f"{status['outputDataConfig']['s3OutputDataConfig']['s3Uri']}",
                video_id=video.video_id,
                model_id=self._marengo_id,
            )
        output_uri = status["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
        raw = self._media.read_job_output(output_uri, job, model_id=self._marengo_id)
        try:
            segments = marengo.output_segments(raw)
            vector = marengo.video_vector(segments, option=self._option, dimension=self._dimension)
        except marengo.MarengoOutputError as exc:
            raise AnalysisError(
                f"Marengo job {job.job_id} for video {video.video_id} wrote an unusable output: {exc}",
                video_id=video.video_id,
                model_id=self._marengo_id,
            ) from exc
        seconds = (
            video.media.duration_seconds
            if video.media
            else marengo.covered_seconds(segments) or self._media.video_seconds(video)
        )
        usage = ModelUsage(
            model_id=self._marengo_id, model_type=ModelType.MARENGO, video_seconds=seconds, at=self._now()
        )
        return ModelOutput(Embedding.create(vector, model_id=self._marengo_id, dimension=self._dimension), (usage,))

    # -- helpers --------------------------------------------------------------------------
    def _video_uri(self, video: Video, model_id: str) -> str:
        if self._config.check_media:
            return self._media.checked_uri(video, model_id=model_id)
        return self._media.uri(video)

    def _invoke(
        self,
        invoke_id: str,
        body: dict[str, Any],
        *,
        video_id: str | None,
        model_id: str,
        media_uri: str | None = None,
        runtime: BedrockRuntimeClient | None = None,
    ) -> InvokeModelResponseTypeDef:
        payload = json.dumps(body)
        client = runtime or self._runtime
        return call_once(
            lambda: client.invoke_model(
                modelId=invoke_id, body=payload, contentType="application/json", accept="application/json"
            ),
            operation=f"InvokeModel ({invoke_id})",
            video_id=video_id,
            model_id=model_id,
            region=self._config.region,
            media_uri=media_uri,
        )

    def _pegasus_usage(self, response: InvokeModelResponseTypeDef, video: Video) -> ModelUsage:
        """Token counts come back as HTTP headers (they are not modelled fields of the response)."""
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})

        def count(name: str) -> int:
            try:
                return max(0, int(headers.get(name, 0)))
            except (TypeError, ValueError):
                return 0

        return ModelUsage(
            model_id=self._pegasus_id,
            model_type=ModelType.PEGASUS,
            input_tokens=count("x-amzn-bedrock-input-token-count"),
            output_tokens=count("x-amzn-bedrock-output-token-count"),
            video_seconds=self._media.video_seconds(video),
            at=self._now(),
        )

    def _find_job(self, token: str) -> str | None:
        """The invocation started with ``token`` among the most recent ones (a few pages at most)."""
        kwargs: dict[str, Any] = {"sortBy": "SubmissionTime", "sortOrder": "Descending", "maxResults": 100}
        for _ in range(5):
            try:
                page = self._runtime.list_async_invokes(**kwargs)
            except ClientError:
                return None  # e.g. no bedrock:ListAsyncInvokes: the caller reports the original conflict
            for summary in page.get("asyncInvokeSummaries", []):
                if summary.get("clientRequestToken") == token:
                    return summary["invocationArn"]
            if not page.get("nextToken"):
                return None
            kwargs["nextToken"] = page["nextToken"]
        return None
