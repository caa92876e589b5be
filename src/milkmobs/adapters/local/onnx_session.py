"""One onnxruntime session per shipped model, made on first use: the local analyzer's speech models
(voice detector, phone model) load only when a soundtrack is listened to."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from milkmobs.domain import MediaError


def packaged_model(name: str) -> bytes:
    """The bytes of model ``name`` shipped in ``milkmobs/data``."""
    return resources.files("milkmobs").joinpath("data", name).read_bytes()


class LazySession:
    """A single-threaded CPU session over the model ``load`` returns, created once, on first use.
    ``purpose`` names what is missing when onnxruntime is not installed."""

    def __init__(self, load: Callable[[], bytes], purpose: str) -> None:
        self._load = load
        self._purpose = purpose
        self._lock = threading.Lock()
        self._session: Any = None

    def get(self) -> Any:
        with self._lock:
            if self._session is None:
                try:
                    import onnxruntime
                except ImportError as exc:
                    raise MediaError(f"{self._purpose} is not available: install milkmobs[media] ({exc})") from exc
                options = onnxruntime.SessionOptions()
                # One thread: the analyzer already runs one video per worker.
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                self._session = onnxruntime.InferenceSession(
                    self._load(), sess_options=options, providers=["CPUExecutionProvider"]
                )
            return self._session
