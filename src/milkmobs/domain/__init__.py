"""The milkmobs domain: pydantic models and the error tree. No I/O."""

from milkmobs.domain.campaign import Campaign, ScoreWeights
from milkmobs.domain.embedding import Embedding, Vector, as_vector, l2_normalize
from milkmobs.domain.errors import (
    AnalysisError,
    BackendUnavailableError,
    ConfigurationError,
    ConflictError,
    DuplicateContentError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    MediaError,
    MilkmobsError,
    NotFoundError,
    PayloadTooLargeError,
    TransientAnalysisError,
    UnauthorizedError,
    VersionConflictError,
)
from milkmobs.domain.events import EVENT_BUS_NAME, EVENT_SOURCE, DomainEvent, VideoAnalyzed
from milkmobs.domain.execution import ExecutionRecord, ExecutionStatus, StartResult, StepRecord, StepStatus
from milkmobs.domain.hashtags import normalize_hashtag, normalize_hashtags
from milkmobs.domain.insights import Highlight, Insights, InsightSources, Signal
from milkmobs.domain.mob import Mob
from milkmobs.domain.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from milkmobs.domain.stats import VideoStats
from milkmobs.domain.usage import (
    ModelType,
    ModelUsage,
    UsageBucket,
    UsageReport,
    UsageTotals,
)
from milkmobs.domain.validation import ScoreBreakdown, ValidationResult
from milkmobs.domain.video import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATUSES,
    Failure,
    MediaInfo,
    Video,
    VideoStatus,
    check_save,
    check_transition,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "DEFAULT_PAGE_SIZE",
    "EVENT_BUS_NAME",
    "EVENT_SOURCE",
    "MAX_PAGE_SIZE",
    "TERMINAL_STATUSES",
    "AnalysisError",
    "BackendUnavailableError",
    "Campaign",
    "ConfigurationError",
    "ConflictError",
    "DomainEvent",
    "DuplicateContentError",
    "Embedding",
    "ExecutionRecord",
    "ExecutionStatus",
    "Failure",
    "ForbiddenError",
    "Highlight",
    "IdempotencyKeyReusedError",
    "InsightSources",
    "Insights",
    "InvalidInputError",
    "MediaError",
    "MediaInfo",
    "MilkmobsError",
    "Mob",
    "ModelType",
    "ModelUsage",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "ScoreBreakdown",
    "ScoreWeights",
    "Signal",
    "StartResult",
    "StepRecord",
    "StepStatus",
    "TransientAnalysisError",
    "UnauthorizedError",
    "UsageBucket",
    "UsageReport",
    "UsageTotals",
    "ValidationResult",
    "Vector",
    "VersionConflictError",
    "Video",
    "VideoAnalyzed",
    "VideoStats",
    "VideoStatus",
    "as_vector",
    "check_save",
    "check_transition",
    "l2_normalize",
    "normalize_hashtag",
    "normalize_hashtags",
]
