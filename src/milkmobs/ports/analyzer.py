"""The video models: a describer (Pegasus-like) and an embedder (Marengo-like)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar, runtime_checkable

from milkmobs.domain import Embedding, Insights, ModelUsage, Video
from milkmobs.domain.campaign import Campaign

T = TypeVar("T")


@dataclass(frozen=True)
class ModelOutput(Generic[T]):
    """A model's answer and what producing it cost (one entry per billed invocation)."""

    value: T
    usage: tuple[ModelUsage, ...] = field(default_factory=tuple)


class Analyzer(Protocol):
    """Analyses stored videos. Raises AnalysisError (``retryable`` set for transient failures)."""

    @property
    def insights_model_id(self) -> str: ...

    @property
    def embedding_model_id(self) -> str: ...

    @property
    def embedding_dimension(self) -> int: ...

    def describe_video(self, video: Video, campaign: Campaign) -> ModelOutput[Insights]: ...

    def embed_video(self, video: Video) -> ModelOutput[Embedding]:
        """Blocking: returns the unit-length video embedding."""
        ...

    def embed_text(self, text: str) -> ModelOutput[Embedding]:
        """A unit-length embedding of ``text`` in the same space as video embeddings."""
        ...


@dataclass(frozen=True)
class EmbeddingJob:
    """A started asynchronous embedding job."""

    job_id: str
    video_id: str


@runtime_checkable
class AsyncVideoEmbedder(Protocol):
    """Analyzers whose video embedding is an asynchronous job (Marengo on Bedrock).

    The state machine calls ``start`` then ``check`` repeatedly with a wait in between,
    so no function sits idle while the model works.
    """

    def start_video_embedding(self, video: Video) -> EmbeddingJob: ...

    def check_video_embedding(self, job: EmbeddingJob, video: Video) -> ModelOutput[Embedding] | None:
        """None while running; AnalysisError if the job failed."""
        ...
