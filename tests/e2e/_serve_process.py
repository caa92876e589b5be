"""Start ``milkmobs serve`` as a user would (a subprocess) and small real mp4 files for it.

With the local backend the server is several processes (HTTP workers and a pipeline process); their
ids come from the banner, so tests can stop or kill one of them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests import media_support


@dataclass
class ServerProcess:
    url: str
    admin_token: str | None
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    http_pids: list[int] = field(default_factory=list)
    pipeline_pid: int | None = None

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        """Ctrl-C (or SIGTERM) and wait for a clean exit (and all its output); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        if self.reader is not None:
            self.reader.join(timeout=5)
        return code


def make_mp4(path: Path, *, text: str | None = None, seconds: float = 2.0, seed: int = 0) -> Path:
    """A small H.264/AAC mp4 from ffmpeg's test sources (``text`` drawn on white, else colour bars)."""
    return media_support.make_mp4(
        path, seconds=seconds, size="320x240", tone=440 + 50 * seed, faststart=False, text=text, pattern="testsrc"
    )


@contextmanager
def serve(
    data_dir: Path,
    *,
    backend: str = "local",
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    start_timeout: float = 120,
) -> Iterator[ServerProcess]:
    """``milkmobs serve --port 0 [args]`` in a subprocess; yields once it printed its address."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MILKMOBS_")}
    environment.update(env or {})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milkmobs.cli.main",
            "serve",
            "--backend",
            backend,
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    lines: list[str] = []
    url: str | None = None
    token: str | None = None
    http_pids: list[int] = []
    pipeline_pid: int | None = None
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"serving \w+ backend on (http://\S+)", line):
            url = m.group(1)
        if m := re.search(r"admin token \(shown once\): (\S+)", line):
            token = m.group(1)
        if m := re.search(r"HTTP worker processes \[([\d, ]+)\]", line):
            http_pids = [int(pid) for pid in m.group(1).split(",")]
        if m := re.search(r"pipeline process (\d+)", line):
            pipeline_pid = int(m.group(1))
        if "API docs:" in line and url:
            break
    if url is None:
        process.kill()
        raise RuntimeError("milkmobs serve did not start:\n" + "".join(lines) + (process.stdout.read() or ""))
    server = ServerProcess(
        url=url, admin_token=token, process=process, output=lines, http_pids=http_pids, pipeline_pid=pipeline_pid
    )

    def drain() -> None:  # keep reading so the server never blocks on a full pipe
        assert process.stdout is not None
        for rest in process.stdout:
            lines.append(rest)

    server.reader = threading.Thread(target=drain, daemon=True)
    server.reader.start()
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the supervisor stops its children
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
