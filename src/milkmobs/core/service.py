"""``MilkMobs``: the one facade the driving side calls (API routes, Lambdas, CLI, notebooks).

Each method is a use case; the heavy lifting lives in the sibling modules
(uploads, pipeline, validation, clustering, queries, admin).
"""

from __future__ import annotations

from milkmobs.core.config import CoreConfig
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.views import (
    ClusteringReport,
    MobDetail,
    SimilarVideos,
    Submission,
    SubmitRequest,
    VideoView,
)
from milkmobs.domain import (
    Embedding,
    ExecutionRecord,
    Insights,
    Mob,
    Page,
    UsageReport,
    ValidationResult,
    Video,
    VideoStats,
    VideoStatus,
)
from milkmobs.ports import Workflow

_TODO = "implemented by the foundation issue"


class MilkMobs:
    """The application. Build it with ``milkmobs.bootstrap.build(settings)``."""

    def __init__(self, ports: CorePorts, config: CoreConfig, workflow: Workflow | None = None) -> None:
        self.ports = ports
        self.config = config
        self._workflow = workflow

    def attach_workflow(self, workflow: Workflow) -> None:
        """The composition root attaches the workflow after both exist (the orchestrator calls back into us)."""
        self._workflow = workflow

    @property
    def workflow(self) -> Workflow:
        if self._workflow is None:
            raise RuntimeError("no workflow attached; build the app with milkmobs.bootstrap.build()")
        return self._workflow

    # --- uploads -----------------------------------------------------------------
    def submit_video(self, request: SubmitRequest) -> Submission:
        """Create the record in ``pending_upload`` and a presigned upload for ``vid_<uuid>.mp4``."""
        raise NotImplementedError(_TODO)

    def on_object_created(self, key: str, size_bytes: int | None = None) -> Video | None:
        """S3/media 'object created': ignore keys that are not ``vid_*.mp4`` (None); else move the video to
        ``uploaded`` and start the workflow. Idempotent: a repeated event changes nothing."""
        raise NotImplementedError(_TODO)

    def upload_video(self, video_id: str, data: bytes) -> Video:
        """Convenience for notebooks and the local server: store the bytes, then ``on_object_created``."""
        raise NotImplementedError(_TODO)

    # --- pipeline steps (called by the orchestrator or the Step Functions Lambdas) ---
    def mark_processing(self, video_id: str) -> Video:
        raise NotImplementedError(_TODO)

    def describe_video(self, video_id: str) -> Insights:
        """Pegasus branch: insights for the video (usage recorded through Metrics)."""
        raise NotImplementedError(_TODO)

    def embed_video(self, video_id: str) -> Embedding:
        """Marengo branch (blocking)."""
        raise NotImplementedError(_TODO)

    def write_results(self, video_id: str, insights: Insights, embedding: Embedding) -> Video:
        """Store insights and embedding on the record and the vector in the index."""
        raise NotImplementedError(_TODO)

    def validate_video(self, video_id: str) -> ValidationResult:
        """Score stored insights against the campaign; status becomes ``validated`` or ``rejected``."""
        raise NotImplementedError(_TODO)

    def cluster_video(self, video_id: str) -> Mob | None:
        """Incremental clustering of a validated video (None for other statuses)."""
        raise NotImplementedError(_TODO)

    def emit_analyzed(self, video_id: str) -> None:
        """Publish ``VideoAnalyzed`` for a validated or rejected video."""
        raise NotImplementedError(_TODO)

    def mark_failed(self, video_id: str, *, step: str, error: str, error_type: str = "") -> Video:
        """Record the failing step and error; status ``failed``."""
        raise NotImplementedError(_TODO)

    # --- reads ---------------------------------------------------------------------
    def get_video(self, video_id: str) -> VideoView:
        raise NotImplementedError(_TODO)

    def list_user_videos(self, user_id: str, *, limit: int = 20, cursor: str | None = None) -> Page[VideoView]:
        raise NotImplementedError(_TODO)

    def feed(self, *, limit: int = 20, cursor: str | None = None, mob_id: str | None = None) -> Page[VideoView]:
        """Validated videos, newest first, with mob names."""
        raise NotImplementedError(_TODO)

    def list_mobs(self) -> list[Mob]:
        raise NotImplementedError(_TODO)

    def get_mob(self, mob_id: str, *, limit: int = 20, cursor: str | None = None) -> MobDetail:
        raise NotImplementedError(_TODO)

    def similar_videos(self, video_id: str, *, limit: int = 10, mob_id: str | None = None) -> SimilarVideos:
        """Cosine-similar validated videos, the query excluded, best first."""
        raise NotImplementedError(_TODO)

    def search_text(self, text: str, *, limit: int = 10, mob_id: str | None = None) -> SimilarVideos:
        raise NotImplementedError(_TODO)

    def revalidate(self, video_id: str) -> ValidationResult:
        """POST /validate: re-run validation on stored insights."""
        raise NotImplementedError(_TODO)

    def get_validation(self, video_id: str) -> ValidationResult:
        raise NotImplementedError(_TODO)

    def execution_history(self, video_id: str) -> list[ExecutionRecord]:
        raise NotImplementedError(_TODO)

    # --- admin -----------------------------------------------------------------------
    def admin_list_videos(
        self, *, status: VideoStatus | None = None, limit: int = 20, cursor: str | None = None
    ) -> Page[VideoView]:
        raise NotImplementedError(_TODO)

    def delete_video(self, video_id: str) -> Video:
        """Record, every media version, thumbnail, vector and mob count — all or nothing visible."""
        raise NotImplementedError(_TODO)

    def stats(self) -> VideoStats:
        raise NotImplementedError(_TODO)

    def usage(self, range_name: str = "24h") -> UsageReport:
        """``1h``, ``24h``, ``7d`` or ``30d``; InvalidInputError otherwise."""
        raise NotImplementedError(_TODO)

    def recluster(self) -> ClusteringReport:
        """Batch re-clustering of every validated embedding; mob ids kept where members stay."""
        raise NotImplementedError(_TODO)

    def set_thumbnail(self, video_id: str, jpeg: bytes) -> Video:
        """Store a generated thumbnail for the video (generate-thumbnail)."""
        raise NotImplementedError(_TODO)
