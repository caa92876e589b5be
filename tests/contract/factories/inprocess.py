"""The in-process workflow engine (``milkmobs.adapters.inprocess``) in the Workflow suite: one
engine, run on the memory backend and on the local one (SQLite stores and execution log, the media
folder, the persisted index), synchronous and on its background workers. The fakes, which always
succeed, stand in for the models (and, on the local backend, for ffmpeg).

Step Functions runs the same suite on moto (``aws.py``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

from milkmobs.adapters.bundle import AdapterSet
from milkmobs.adapters.inprocess import InProcessOrchestrator
from milkmobs.adapters.memory import FakeAnalyzer, FakeMediaProcessor
from milkmobs.bootstrap import build
from milkmobs.ports import Workflow
from milkmobs.settings import Backend, Settings
from tests.contract.support import add_uploaded_video, orchestrator_settler

WorkflowHarness = tuple[Workflow, Callable[[], str], Callable[[str], None]]
DIMENSION = 32


def _fake_analyzer(adapters: AdapterSet) -> FakeAnalyzer:
    return FakeAnalyzer(adapters.media, dimension=DIMENSION)


def _fake_processor(adapters: AdapterSet) -> FakeMediaProcessor:
    return FakeMediaProcessor(adapters.media)


def _engine(backend: Backend, *, background: bool) -> Callable[[], AbstractContextManager[WorkflowHarness]]:
    @contextmanager
    def factory() -> Iterator[WorkflowHarness]:
        with ExitStack() as stack:
            if backend is Backend.LOCAL:
                data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="milkmobs-contract-")))
                settings = Settings(
                    backend=backend,
                    local={"data_dir": data_dir, "workers": 2},
                    models={"embedding_dimension": DIMENSION},
                )
                fakes = {"analyzer": _fake_analyzer, "media_processor": _fake_processor}
            else:
                settings = Settings(backend=backend, models={"embedding_dimension": DIMENSION}, local={"workers": 2})
                fakes = {}
            app = stack.enter_context(
                build(settings, background=background, retry_interval_scale=0, wait_scale=0, **fakes)
            )
            flow = app.workflow
            assert isinstance(flow, InProcessOrchestrator)
            yield flow, (lambda: add_uploaded_video(app)), orchestrator_settler(flow)

    return factory


WORKFLOWS = {
    "InProcessOrchestrator-memory": _engine(Backend.MEMORY, background=False),
    "InProcessOrchestrator-memory-background": _engine(Backend.MEMORY, background=True),
    "InProcessOrchestrator-sqlite": _engine(Backend.LOCAL, background=False),
    "InProcessOrchestrator-sqlite-background": _engine(Backend.LOCAL, background=True),
}
