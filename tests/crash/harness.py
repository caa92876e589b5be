"""Fault injection: run a scenario in a forked child whose store writes are counted, and kill the
child (``os._exit``, no clean-up, as SIGKILL would) right after write number N.

Every method of every store port (videos, mobs, media, index, events, metrics, the execution log)
is wrapped; calls whose name is a write verb are counted. A step commit is an execution-log write,
so "after each step commit" and "after each store write inside a step" are both write numbers.
Enumerating N = 1, 2, … until the child finishes without reaching N covers every crash point of
the scenario, whatever the pipeline's shape.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from milkmobs.adapters.bundle import AdapterSet
from milkmobs.adapters.memory import FakeAnalyzer
from milkmobs.adapters.memory.media_processor import FakeMediaProcessor
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.domain import AnalysisError, Campaign, Insights, Video
from milkmobs.ports import ModelOutput
from milkmobs.settings import Backend, Settings

DIMENSION = 32
#: The exit code of a child killed at its crash point.
CRASHED = 86
#: Store ports whose writes are counted (AdapterSet field names).
PORTS = ("videos", "mobs", "media", "index", "events", "metrics", "executions")
#: A method is a write when its name starts with one of these verbs.
WRITE_VERBS = ("add", "save", "delete", "adjust", "upsert", "publish", "put", "record", "set", "remove", "create")


def settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "backend": Backend.LOCAL,
        "local": {"data_dir": data_dir, "workers": 2},
        "models": {"embedding_dimension": DIMENSION},
        "clustering": {"join_threshold": -1.0, "batch_k": 2},
    }
    values.update(overrides)
    return Settings(**values)


class WriteCounter:
    """Counts writes across threads; ``os._exit(CRASHED)`` right after write number ``crash_at``."""

    def __init__(self, crash_at: int | None) -> None:
        self.crash_at = crash_at
        self.writes = 0
        self._lock = threading.Lock()

    def wrote(self) -> None:
        with self._lock:
            self.writes += 1
            if self.writes == self.crash_at:
                os._exit(CRASHED)  # no finally blocks, no flush: what a kill leaves


class CountingPort:
    """Forwards everything to ``inner``; calls to write methods are counted after they return."""

    def __init__(self, inner: Any, counter: WriteCounter) -> None:
        self._inner = inner
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value) or not name.startswith(WRITE_VERBS):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            self._counter.wrote()
            return result

        return counted


class RefusingAnalyzer(FakeAnalyzer):
    """The description model refuses every video for good: the workflow's catch path."""

    def describe_video(self, video: Video, campaign: Campaign) -> ModelOutput[Insights]:
        raise AnalysisError(f"video {video.video_id}: the model refused it (test double)", video_id=video.video_id)


def fake_adapters(*, models_down: bool = False) -> dict[str, Callable[[AdapterSet], Any]]:
    """Overrides: the fakes stand in for ffmpeg and the models (fast, deterministic);
    ``models_down``: the description model refuses every video."""
    analyzer = RefusingAnalyzer if models_down else FakeAnalyzer
    return {
        "analyzer": lambda a: analyzer(a.media, dimension=DIMENSION),
        "media_processor": lambda a: FakeMediaProcessor(a.media),
    }


def counted_build(data_dir: Path, counter: WriteCounter, *, models_down: bool = False) -> MilkMobs:
    """The local app, synchronous, with every store port counted."""
    wrap = {name: (lambda a, n=name: CountingPort(getattr(a, n), counter)) for name in PORTS}
    return build(
        settings(data_dir),
        retry_interval_scale=0,
        wait_scale=0,
        **wrap,  # the media store first: the fakes below read through it
        **fake_adapters(models_down=models_down),
    )


@contextmanager
def recovered(data_dir: Path, *, models_down: bool = False) -> Iterator[MilkMobs]:
    """What a restart does: the background app (its start-up recovery runs), idle once the workers
    finished what recovery queued."""
    app = build(
        settings(data_dir),
        background=True,
        retry_interval_scale=0,
        wait_scale=0,
        **fake_adapters(models_down=models_down),
    )
    try:
        assert app.workflow.wait_idle(timeout=60), "recovered work did not finish"  # type: ignore[attr-defined]
        yield app
    finally:
        app.close()


Scenario = Callable[[MilkMobs], None]


def _child(data_dir: str, crash_at: int | None, scenario: Scenario, models_down: bool, out: Any) -> None:
    counter = WriteCounter(crash_at)
    app = counted_build(Path(data_dir), counter, models_down=models_down)
    scenario(app)
    out.send(counter.writes)
    app.close()


def run_until_crash(
    data_dir: Path, crash_at: int | None, scenario: Scenario, *, models_down: bool = False
) -> int | None:
    """Run ``scenario`` in a forked child that dies right after write ``crash_at``. Returns None if it
    died there, else the number of writes it made (it finished before reaching ``crash_at``)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(str(data_dir), crash_at, scenario, models_down, send))
    child.start()
    send.close()
    writes = None
    if receive.poll(120):
        try:
            writes = receive.recv()
        except EOFError:  # killed before it could say how many writes it made
            writes = None
    child.join(60)
    if child.exitcode == CRASHED:
        return None
    assert child.exitcode == 0, f"the scenario child exited with {child.exitcode}"
    assert writes is not None
    return int(writes)


def fresh_copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target
