"""Ports: one small Protocol per role the core needs from the outside world."""

from milkmobs.ports.analyzer import Analyzer, AsyncVideoEmbedder, EmbeddingJob, ModelOutput
from milkmobs.ports.clock import Clock, IdGenerator
from milkmobs.ports.events import EventBus
from milkmobs.ports.media import MediaStore, UploadTicket
from milkmobs.ports.metrics import Metrics
from milkmobs.ports.stores import MobStore, VideoStore
from milkmobs.ports.vector_index import IndexedVector, VectorHit, VectorIndex
from milkmobs.ports.workflow import Workflow

__all__ = [
    "Analyzer",
    "AsyncVideoEmbedder",
    "Clock",
    "EmbeddingJob",
    "EventBus",
    "IdGenerator",
    "IndexedVector",
    "MediaStore",
    "Metrics",
    "MobStore",
    "ModelOutput",
    "UploadTicket",
    "VectorHit",
    "VectorIndex",
    "VideoStore",
    "Workflow",
]
