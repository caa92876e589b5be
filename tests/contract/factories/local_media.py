"""The LocalAnalyzer (ffmpeg frames and audio, RapidOCR) in the Analyzer contract suite.

Its own module, next to ``local.py`` (the stores), because it needs the ``media`` extra.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("av")
pytest.importorskip("imageio_ffmpeg")
pytest.importorskip("rapidocr")

from milkmobs.adapters.local.analyzer import LocalAnalyzer
from milkmobs.domain import Video
from milkmobs.ports import Analyzer


@contextmanager
def local_analyzer() -> Iterator[tuple[Analyzer, Callable[[Video, bytes], None]]]:
    with tempfile.TemporaryDirectory(prefix="milkmobs-contract-") as tmp:
        folder = Path(tmp)

        def put_video(video: Video, data: bytes) -> None:
            (folder / video.media_key).write_bytes(data)

        yield LocalAnalyzer(lambda key: folder / key), put_video


ANALYZERS = {"LocalAnalyzer": local_analyzer}
