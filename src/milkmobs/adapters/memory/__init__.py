"""In-memory adapters for every port, shipped in the package (tests, notebooks, the ``memory`` backend).

They are thread-safe (one lock per adapter) and raise the same milkmobs errors as the real
backends. ``FakeAnalyzer`` and ``FakeMediaProcessor`` are fakes: deterministic stand-ins
that derive their answers from metadata and bytes, not from looking at the video.
"""

from milkmobs.adapters.memory.analyzer import FakeAnalyzer
from milkmobs.adapters.memory.clock import FixedClock, SequentialIdGenerator, SystemClock, UuidIdGenerator
from milkmobs.adapters.memory.event_bus import InMemoryEventBus
from milkmobs.adapters.memory.execution_log import InMemoryExecutionLog
from milkmobs.adapters.memory.factory import build_adapters
from milkmobs.adapters.memory.media_processor import FAKE_THUMBNAIL_JPEG, NO_AUDIO_MARKER, FakeMediaProcessor
from milkmobs.adapters.memory.media_store import InMemoryMediaStore
from milkmobs.adapters.memory.metrics import InMemoryMetrics
from milkmobs.adapters.memory.mob_store import InMemoryMobStore
from milkmobs.adapters.memory.vector_index import InMemoryVectorIndex
from milkmobs.adapters.memory.video_store import InMemoryVideoStore

__all__ = [
    "FAKE_THUMBNAIL_JPEG",
    "NO_AUDIO_MARKER",
    "FakeAnalyzer",
    "FakeMediaProcessor",
    "FixedClock",
    "InMemoryEventBus",
    "InMemoryExecutionLog",
    "InMemoryMediaStore",
    "InMemoryMetrics",
    "InMemoryMobStore",
    "InMemoryVectorIndex",
    "InMemoryVideoStore",
    "SequentialIdGenerator",
    "SystemClock",
    "UuidIdGenerator",
    "build_adapters",
]
