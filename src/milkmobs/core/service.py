"""``MilkMobs``: the one facade the driving side calls (API routes, Lambdas, CLI, notebooks).

Each method is a use case; the heavy lifting lives in the sibling modules
(uploads, pipeline, validation, clustering, queries, admin). The workflow's internal steps are
not use cases: they live in ``core.steps``, run by the workflow on a ``StepContext``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from milkmobs.core import admin, mobs, pipeline, queries, uploads
from milkmobs.core.config import CoreConfig
from milkmobs.core.mob_map import DEFAULT_MAP_POINTS, MobMap, mob_map
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.steps import StepContext
from milkmobs.core.views import (
    ClusteringReport,
    MobDetail,
    SimilarVideos,
    Submission,
    SubmitRequest,
    VideoView,
)
from milkmobs.domain import (
    ExecutionRecord,
    Mob,
    Page,
    UsageReport,
    ValidationResult,
    Video,
    VideoStats,
    VideoStatus,
)
from milkmobs.domain.display import ResultList
from milkmobs.ports import Workflow


class MilkMobs:
    """The application, built whole: its ports, the core's configuration and the workflow runner
    (the in-process orchestrator, itself built from the ports first, or Step Functions). Build it with
    ``milkmobs.bootstrap.build(settings)``."""

    def __init__(self, ports: CorePorts, config: CoreConfig, workflow: Workflow) -> None:
        self.ports = ports
        self.config = config
        self.workflow = workflow
        self._closers: list[Callable[[], None]] = []

    @property
    def context(self) -> StepContext:
        """What the workflow's steps run on (the same ports and configuration): the steps of
        ``milkmobs.core.steps`` take it, e.g. ``steps.describe_video(app.context, video_id)``."""
        return StepContext(self.ports, self.config)

    # --- lifecycle ---------------------------------------------------------------------
    def add_closer(self, closer: Callable[[], None]) -> None:
        """Register something to release on ``close()`` (run in reverse order of registration)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Stop the orchestrator's workers and release the adapters (idempotent)."""
        closers, self._closers = self._closers, []
        errors: list[BaseException] = []
        for closer in reversed(closers):
            try:
                closer()
            except Exception as exc:  # close everything, then report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> MilkMobs:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- uploads -----------------------------------------------------------------
    def submit_video(self, request: SubmitRequest, *, idempotency_key: str | None = None) -> Submission:
        """Create the record in ``pending_upload`` and a presigned upload for ``vid_<uuid>.mp4``.

        With ``idempotency_key``, a retry of the same request answers the same video (a fresh form);
        another request under that key is an IdempotencyKeyReusedError. A declared ``content_sha256``
        this user already uploaded is a DuplicateContentError naming that video (nothing is created).
        """
        video, ticket = uploads.submit_video(self.ports, self.config, request, idempotency_key=idempotency_key)
        return Submission(video_id=video.video_id, video=queries.to_view(self.ports, self.config, video), upload=ticket)

    def on_object_created(
        self, key: str, size_bytes: int | None = None, *, version: str | None = None, sha256: str | None = None
    ) -> Video | None:
        """S3/media 'object created': ignore keys that are not ``vid_*.mp4`` (None); else move the video to
        ``uploaded``, pinned to this ``version`` and content, and start the workflow. Idempotent: a repeated
        event changes nothing; a later version of an accepted upload is removed."""
        return uploads.on_object_created(
            self.ports, self.config, self.workflow, key, size_bytes, version=version, sha256=sha256
        )

    def find_upload(self, user_id: str, sha256: str) -> Video | None:
        """The user's video whose accepted upload has this SHA-256 (hex), if any: how a client that
        uploads files (the demo, scripts) recognises a file it already sent."""
        return uploads.find_upload(self.ports, user_id, sha256)

    def upload_video(self, video_id: str, data: bytes) -> Video:
        """Convenience for notebooks and the local server: store the bytes, then ``on_object_created``."""
        return uploads.upload_video(self.ports, self.config, self.workflow, video_id, data)

    # --- reads ---------------------------------------------------------------------
    def get_video(self, video_id: str) -> VideoView:
        """The video with its media URLs and mob name; NotFoundError if unknown."""
        return queries.get_video(self.ports, self.config, video_id)

    def list_user_videos(self, user_id: str, *, limit: int = 20, cursor: str | None = None) -> Page[VideoView]:
        """The user's videos in every status, newest first."""
        return queries.list_user_videos(self.ports, self.config, user_id, limit=limit, cursor=cursor)

    def feed(self, *, limit: int = 20, cursor: str | None = None, mob_id: str | None = None) -> Page[VideoView]:
        """Validated videos, newest first, with mob names."""
        return queries.feed(self.ports, self.config, limit=limit, cursor=cursor, mob_id=mob_id)

    def list_mobs(self) -> ResultList[Mob]:
        """Mobs with members, largest first."""
        return ResultList(queries.list_mobs(self.ports))

    def get_mob(self, mob_id: str, *, limit: int = 20, cursor: str | None = None) -> MobDetail:
        """The mob and a page of its videos, newest first; NotFoundError if unknown."""
        return queries.get_mob(self.ports, self.config, mob_id, limit=limit, cursor=cursor)

    def similar_videos(self, video_id: str, *, limit: int = 10, mob_id: str | None = None) -> SimilarVideos:
        """Cosine-similar validated videos, the query excluded, best first."""
        return queries.similar_videos(self.ports, self.config, video_id, limit=limit, mob_id=mob_id)

    def search_text(self, text: str, *, limit: int = 10, mob_id: str | None = None) -> SimilarVideos:
        """Validated videos closest to ``text`` (the analyzer's text embedding), best first."""
        return queries.search_text(self.ports, self.config, text, limit=limit, mob_id=mob_id)

    def revalidate(self, video_id: str) -> ValidationResult:
        """POST /validate: re-run validation on stored insights. A video that now passes joins a mob; one
        that no longer passes leaves its mob and drops out of the feed."""
        return pipeline.revalidate(self.ports, self.config, video_id)

    def get_validation(self, video_id: str) -> ValidationResult:
        """The stored validation; NotFoundError if the video or its validation does not exist."""
        return queries.get_validation(self.ports, video_id)

    def execution_history(self, video_id: str) -> ResultList[ExecutionRecord]:
        """Workflow executions of the video, newest first (NotFoundError for an unknown video)."""
        self.ports.videos.get(video_id)
        return ResultList(self.workflow.history(video_id))

    # --- admin -----------------------------------------------------------------------
    def admin_list_videos(
        self, *, status: VideoStatus | None = None, limit: int = 20, cursor: str | None = None
    ) -> Page[VideoView]:
        """Every video (or those in ``status``), newest first."""
        return admin.list_videos(self.ports, self.config, status=status, limit=limit, cursor=cursor)

    def delete_video(self, video_id: str) -> Video:
        """Record, every media version, thumbnail, vector and mob count — all or nothing visible."""
        return admin.delete_video(self.ports, video_id)

    def stats(self) -> VideoStats:
        """Totals by status, active mobs, average validation score and time to validate."""
        return admin.stats(self.ports)

    def usage(self, range_name: str = "24h") -> UsageReport:
        """``1h``, ``24h``, ``7d`` or ``30d``; InvalidInputError otherwise."""
        return admin.usage(self.ports, self.config, range_name)

    def mob_map(self, *, limit: int = DEFAULT_MAP_POINTS) -> MobMap:
        """The newest validated videos' embeddings projected to 2-D (PCA), each with its mob."""
        return mob_map(self.ports, limit=limit)

    def recluster(self) -> ClusteringReport:
        """Batch re-clustering of every validated embedding; mob ids kept where members stay."""
        return mobs.recluster(self.ports, self.config)

    def set_thumbnail(self, video_id: str, jpeg: bytes) -> Video:
        """Store a generated thumbnail for the video (generate-thumbnail)."""
        return uploads.set_thumbnail(self.ports, video_id, jpeg)

    def make_thumbnail(self, video_id: str) -> Video | None:
        """Generate the thumbnail with the media processor (None when there is none)."""
        return uploads.make_thumbnail(self.ports, self.ports.videos.get(video_id))
