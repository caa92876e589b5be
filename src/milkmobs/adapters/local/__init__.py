"""The local (embedded) backend: SQLite stores, a media folder and a persisted vector index in one
data directory, analysed by the LocalAnalyzer. Build it with :func:`milkmobs.adapters.local.factory.build_adapters`.

The media adapters (ffmpeg, OCR) are imported lazily by the factory, so this package imports
without the ``media`` extra.

onnxruntime (OCR, voice activity; only ever imported through this package) is told not to record
telemetry: otherwise it writes a session file into the temp folder of every process that loads a
model, and the local backend is meant to run offline and leave nothing behind. It reads the
variable when it is imported, hence here; a value the user set is kept.
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from milkmobs.adapters.local.media_folder import LocalMediaStore
from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
from milkmobs.adapters.local.sqlite_events import SQLiteEventLog
from milkmobs.adapters.local.sqlite_executions import SQLiteExecutionLog
from milkmobs.adapters.local.sqlite_metrics import SQLiteMetrics
from milkmobs.adapters.local.sqlite_mobs import SQLiteMobStore
from milkmobs.adapters.local.sqlite_videos import SQLiteVideoStore
from milkmobs.adapters.local.vector_index import PersistedVectorIndex

__all__ = [
    "LocalMediaStore",
    "PersistedVectorIndex",
    "SQLiteDatabase",
    "SQLiteEventLog",
    "SQLiteExecutionLog",
    "SQLiteMetrics",
    "SQLiteMobStore",
    "SQLiteVideoStore",
]
