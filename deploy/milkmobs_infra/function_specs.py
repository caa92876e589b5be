"""The Lambda functions: the seed's 22 plus the workflow catch's ``analysis-mark-failed``.

Timeouts and memory are the seed's where it gives them (analysis-mark-processing excepted, see
below). Where it gives no memory we use 256 MB, not Lambda's 128 MB default: the seed's functions
were Node.js; ours import pydantic and numpy, and Lambda allocates CPU in proportion to memory,
so 128 MB would double cold starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FunctionGroup(StrEnum):
    API = "api"
    ADMIN = "admin"
    PROCESSING = "processing"
    ANALYSIS = "analysis"
    BATCH = "batch"


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its seed name (``create-upload``) and how it runs."""

    name: str
    group: FunctionGroup
    timeout_seconds: int
    memory_mb: int = 256
    needs_ffmpeg: bool = False  # reads the video file itself: ffmpeg layer, room in /tmp

    @property
    def module(self) -> str:
        """``milkmobs.lambdas.create_upload``: the entry module, named after the seed function."""
        return "milkmobs.lambdas." + self.name.replace("-", "_")

    @property
    def handler(self) -> str:
        return self.module + ".handler"


FUNCTION_SPECS: tuple[FunctionSpec, ...] = (
    # API
    FunctionSpec("create-upload", FunctionGroup.API, 10),
    FunctionSpec("list-user-videos", FunctionGroup.API, 10),
    FunctionSpec("get-video-detail", FunctionGroup.API, 10),
    FunctionSpec("get-feed", FunctionGroup.API, 10),
    FunctionSpec("list-mobs", FunctionGroup.API, 10),
    FunctionSpec("get-mob", FunctionGroup.API, 10),
    FunctionSpec("search-similar", FunctionGroup.API, 30, memory_mb=512),
    FunctionSpec("get-execution-history", FunctionGroup.API, 30),
    # admin
    FunctionSpec("admin-list-videos", FunctionGroup.ADMIN, 10),
    FunctionSpec("admin-delete-video", FunctionGroup.ADMIN, 30),
    FunctionSpec("admin-get-stats", FunctionGroup.ADMIN, 30),
    FunctionSpec("admin-get-usage-stats", FunctionGroup.ADMIN, 30),
    # Not in the seed: the mobs map (PCA of up to a few thousand embeddings; numpy wants the memory).
    FunctionSpec("admin-get-mob-map", FunctionGroup.ADMIN, 30, memory_mb=1024),
    # processing
    FunctionSpec("start-analysis", FunctionGroup.PROCESSING, 30),
    FunctionSpec("generate-thumbnail", FunctionGroup.PROCESSING, 300, memory_mb=1024, needs_ffmpeg=True),
    # the analysis pipeline (Step Functions tasks)
    # Our core probes the uploaded file here (duration, resolution, audio) with ffmpeg, reading the
    # whole object: it gets generate-thumbnail's memory and ffmpeg (the seed's step only flagged).
    FunctionSpec("analysis-mark-processing", FunctionGroup.ANALYSIS, 30, memory_mb=1024, needs_ffmpeg=True),
    FunctionSpec("analysis-pegasus", FunctionGroup.ANALYSIS, 300),
    FunctionSpec("analysis-marengo", FunctionGroup.ANALYSIS, 300),
    FunctionSpec("analysis-write-result", FunctionGroup.ANALYSIS, 30),
    FunctionSpec("validate-video", FunctionGroup.ANALYSIS, 30),
    FunctionSpec("cluster-video", FunctionGroup.ANALYSIS, 30),
    # Not in the seed: the task of the workflow's catch, which records the failure on the video
    # (the seed's state machine had no catch, so a failed video stayed "processing" forever).
    FunctionSpec("analysis-mark-failed", FunctionGroup.ANALYSIS, 30),
    # batch
    FunctionSpec("cluster-embeddings", FunctionGroup.BATCH, 300, memory_mb=512),
    FunctionSpec("create-opensearch-index", FunctionGroup.BATCH, 120),
)

SPECS_BY_NAME: dict[str, FunctionSpec] = {spec.name: spec for spec in FUNCTION_SPECS}
