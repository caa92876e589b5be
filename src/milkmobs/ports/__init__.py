"""Ports: one small Protocol per role the core needs from the outside world."""

from milkmobs.ports.analyzer import Analyzer, AsyncVideoEmbedder, EmbeddingJob, ModelOutput
from milkmobs.ports.claims import Claim, ClaimStore
from milkmobs.ports.clock import Clock, IdGenerator
from milkmobs.ports.events import EventBus
from milkmobs.ports.media import (
    MediaStore,
    ServedMediaStore,
    StoredUpload,
    UploadPolicy,
    UploadTicket,
    VersionedMediaStore,
)
from milkmobs.ports.media_processing import MediaProcessor
from milkmobs.ports.metrics import Metrics
from milkmobs.ports.stores import MobStore, VideoStore
from milkmobs.ports.vector_index import IndexedVector, ListableVectorIndex, VectorHit, VectorIndex
from milkmobs.ports.workflow import ExecutionLog, ResumableWorkflow, Workflow

__all__ = [
    "Analyzer",
    "AsyncVideoEmbedder",
    "Claim",
    "ClaimStore",
    "Clock",
    "EmbeddingJob",
    "EventBus",
    "ExecutionLog",
    "IdGenerator",
    "IndexedVector",
    "ListableVectorIndex",
    "MediaProcessor",
    "MediaStore",
    "Metrics",
    "MobStore",
    "ModelOutput",
    "ResumableWorkflow",
    "ServedMediaStore",
    "StoredUpload",
    "UploadPolicy",
    "UploadTicket",
    "VectorHit",
    "VectorIndex",
    "VersionedMediaStore",
    "VideoStore",
    "Workflow",
]
