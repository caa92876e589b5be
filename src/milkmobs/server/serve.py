"""``milkmobs serve``: the route table, the upload/media routes and the pipeline on one port.

The process model (see docs/local-backend.md):

- **local backend**: a supervisor binds the port, prepares the data directory once, then forks
  ``workers`` HTTP worker processes that all accept on that socket, the least loaded first
  (``server/balance.py``), and one pipeline process that
  runs the analyses the workers hand it (``server/handoff.py``, ``server/pipeline_process.py``).
  Powertools keeps the current request on the router class, so one process answers one API request
  at a time: processes, not threads, are how the server scales. A child that dies is replaced.
- **memory backend**: its stores live in one process's memory, so one process serves and runs the
  pipeline in background threads.
- **aws backend**: the HTTP workers only (Step Functions runs the pipeline).

SIGINT/SIGTERM: the workers stop accepting, finish their requests and close; the pipeline process
lets running executions finish and leaves queued ones queued (they resume at the next start).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from milkmobs.core.service import MilkMobs
from milkmobs.domain import ConfigurationError

if TYPE_CHECKING:
    from milkmobs.server.balance import AcceptBalance
    from milkmobs.server.shared_pages import SharedPages
from milkmobs.server.http_errors import answer_errors_as_json
from milkmobs.settings import DEFAULT_SERVE_PORT, Backend, Settings

logger = logging.getLogger("milkmobs.server")

#: How long children get to finish after SIGTERM before they are killed.
SHUTDOWN_GRACE_SECONDS = 60.0
#: Request threads per HTTP worker, for what its I/O thread does not answer itself (writes, uploads, admin
#: routes, a read whose route table is busy): the route table answers one request at a time per process
#: anyway, and more threads only hand the interpreter lock around more.
DEFAULT_THREADS = 4
#: How often a worker's access-log lines are flushed (they are written as answers go, flushed in batches).
ACCESS_LOG_FLUSH_SECONDS = 0.2
#: The ``Server`` header of every answer.
SERVER_IDENT = "milkmobs"
#: More child deaths than this within a minute: something is broken, stop instead of looping.
MAX_RESTARTS_PER_MINUTE = 5


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_SERVE_PORT
    threads: int = DEFAULT_THREADS
    swagger: bool = True
    workers: int | None = None  # HTTP worker processes; None: settings.http.workers, else default_workers()
    access_log: bool = True


def default_workers() -> int:
    """One HTTP worker process per core, at least two (one may be busy with a slow request)."""
    return max(2, os.cpu_count() or 1)


def build_application(settings: Settings, *, background: bool = True) -> MilkMobs:
    """The application through the composition root; ``background``: pipeline in worker threads
    (the server) rather than inline (the CLI)."""
    if settings.backend == Backend.LOCAL and importlib.util.find_spec("milkmobs.adapters.local.factory") is None:
        # Say so plainly rather than silently serving another backend.
        raise ConfigurationError("the local backend is not available in this installation; use --backend memory")
    from milkmobs.bootstrap import build

    app: MilkMobs = build(settings, background=background)
    return app


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def limit_math_threads() -> None:
    """One BLAS thread per process: the server's parallelism is its processes, and BLAS threads
    fighting over two cores made a 4,000-row search 50-100x slower under load."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a dependency; without it searches are only slower
        return
    threadpool_limits(limits=1, user_api="blas")


@dataclass
class _Plan:
    settings: Settings
    options: ServeOptions
    token: str
    sock: socket.socket
    out: TextIO
    workers: int
    balance: AcceptBalance | None = None  # the HTTP workers' shared connection counts (several workers)
    slot: int | None = None  # in an HTTP worker: its slot in ``balance``
    slots: dict[int, int] = field(default_factory=dict)  # HTTP worker pid -> its slot
    wake: tuple[int, int] | None = None  # the pipeline process's wake-up pipe (read end, write end)
    lifeline: tuple[int, int] | None = None  # only the supervisor holds the write end: EOF = it died
    shared_pages: SharedPages | None = None  # pages shared by the HTTP workers (local backend)
    children: dict[int, str] = field(default_factory=dict)  # pid -> role


def serve(
    settings: Settings,
    options: ServeOptions,
    *,
    out: TextIO = sys.stdout,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code."""
    token = settings.http.admin_token
    generated = token is None
    if generated:
        token = secrets.token_urlsafe(24)
    assert token is not None
    workers = options.workers or settings.http.workers or default_workers()
    sock = _listen(options.host, options.port)
    try:
        base_url = f"http://{_url_host(options.host)}:{sock.getsockname()[1]}"
        http = settings.http.model_copy(update={"public_base_url": base_url, "admin_token": token})
        settings = settings.model_copy(update={"http": http})
        limit_math_threads()

        def banner(model: str) -> None:
            print(f"milkmobs serving {settings.backend.value} backend on {base_url}", file=out)
            print(f"  {model}", file=out)
            if generated:
                print(f"  admin token (shown once): {token}", file=out)
            print(f"  open {base_url}/ (feed, mobs, upload)   admin dashboard: {base_url}/admin/", file=out)
            print(f"  API docs: {base_url}/docs   OpenAPI: {base_url}/openapi.json", file=out)
            out.flush()
            if ready is not None:
                ready(base_url)

        plan = _Plan(settings=settings, options=options, token=token, sock=sock, out=out, workers=workers)
        if settings.backend == Backend.MEMORY:
            return _serve_in_this_process(plan, banner)
        if workers > 1:
            from milkmobs.server.balance import AcceptBalance

            plan.balance = AcceptBalance(workers)
        return _supervise(plan, banner)
    finally:
        sock.close()
        print("milkmobs stopped", file=out)
        out.flush()


# --- one process (memory backend) ------------------------------------------------------------------


def _serve_in_this_process(plan: _Plan, banner: Callable[[str], None]) -> int:
    app = build_application(plan.settings, background=True)
    return _run_http(plan, app, None, lambda: banner("one process (the memory backend lives in its memory)"))


def _run_http(
    plan: _Plan, app: MilkMobs, data_version: Callable[[], Hashable] | None, started: Callable[[], object]
) -> int:
    """Serve HTTP on the plan's socket with ``app`` until SIGINT/SIGTERM, then close ``app``."""
    from waitress.server import create_server  # type: ignore[import-untyped]

    from milkmobs.server.wsgi import build_wsgi_app

    options = plan.options
    shared = None
    if data_version is not None and plan.shared_pages is not None:
        shared = plan.shared_pages.writer(plan.slot or 0)  # this worker's ring of the memory it inherited
        app.add_closer(shared.close)
    local_app = build_wsgi_app(
        app, plan.settings, token=plan.token, swagger=options.swagger, data_version=data_version, shared_pages=shared
    )
    wsgi: Any = local_app
    access_log = None
    if plan.options.access_log:
        from milkmobs.server.access_log import AccessLog

        wsgi = access_log = AccessLog(wsgi, plan.out, secrets=[plan.token], flush_every=ACCESS_LOG_FLUSH_SECONDS)
    # "Task queue depth is N": waitress says so whenever more requests wait than threads are idle,
    # which is every other request under keep-alive load — noise, and a log write each time.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server: Any = create_server(
        wsgi,
        sockets=[plan.sock],
        threads=plan.options.threads,
        ident=SERVER_IDENT,
        max_request_body_size=plan.settings.uploads.max_upload_bytes + 1024 * 1024,
        clear_untrusted_proxy_headers=True,
    )
    answer_errors_as_json(server)
    if plan.balance is not None and plan.slot is not None:
        plan.balance.install(server, plan.slot)
    if local_app.page_cache is not None:  # current cached pages are answered before the task queue
        from milkmobs.server.hot_answers import HotAnswers

        HotAnswers(local_app.answer_now, ident=SERVER_IDENT, access_log=access_log).install(server)
    stopping = [False]

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping[0]:  # the first signal ends waitress' loop; the finally below drains
            stopping[0] = True
            raise KeyboardInterrupt(f"signal {signum}")

    previous = (
        {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        if threading.current_thread() is threading.main_thread()
        else {}
    )
    try:
        _freeze_start_up_objects()
        started()
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        try:
            server.task_dispatcher.shutdown(cancel_pending=False, timeout=10)
            server.close()
            if access_log is not None:
                access_log.close()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            app.close()  # orchestrator workers finish the step they are in; stores close cleanly
    return 0


def _freeze_start_up_objects() -> None:
    """What start-up built (the route table, its models and schemas, the stores: some 50,000 objects the
    cycle collector tracks) lives as long as the process. Frozen, collections no longer walk it: under
    the benchmark's load a full collection took 70 ms and young ones up to 20, each holding the
    interpreter lock, so every request of the worker waited."""
    import gc

    gc.collect()
    gc.freeze()


# --- several processes (local and aws backends) ---------------------------------------------------------


class _Stop(Exception):
    """Raised in the supervisor by SIGINT/SIGTERM."""


def _supervise(plan: _Plan, banner: Callable[[str], None]) -> int:
    local = plan.settings.backend == Backend.LOCAL
    if local:  # migrations, index rebuild and configuration errors once, before any child exists
        build_application(plan.settings, background=False).close()
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        plan.wake = (read_end, write_end)
        from milkmobs.server.shared_pages import SharedPages, remove_former_page_folders

        remove_former_page_folders(plan.settings.local.data_dir)
        plan.shared_pages = SharedPages(writers=plan.workers)  # mapped before the fork: every worker shares it
    if threading.active_count() > 1:
        logger.warning("milkmobs serve forks with %d threads running", threading.active_count())
    ready_read, ready_write = os.pipe()
    plan.lifeline = os.pipe()

    def _signal(signum: int, _frame: FrameType | None) -> None:
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, _signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        try:
            if local:  # first: its start-up recovery runs while nothing else writes
                _spawn(plan, "pipeline", ready_write)
                _await_ready(plan, ready_read, expected=1)
            for slot in range(plan.workers):
                _spawn(plan, "http", ready_write, slot=slot)
            _await_ready(plan, ready_read, expected=plan.workers)
            pipeline = next((pid for pid, role in plan.children.items() if role == "pipeline"), None)
            http = sorted(pid for pid, role in plan.children.items() if role == "http")
            model = f"{plan.workers} HTTP worker processes {http}"
            banner(model + (f", pipeline process {pipeline}" if pipeline else ""))
            code = _watch(plan, ready_write)
        except _Stop:
            pass
        finally:  # also when a child failed to start: never leave the others running
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the drain short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _stop_children(plan)
        return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for fd in (ready_read, ready_write, *(plan.wake or ()), *plan.lifeline):
            with contextlib.suppress(OSError):
                os.close(fd)
        if plan.shared_pages is not None:
            plan.shared_pages.close()


def _spawn(plan: _Plan, role: str, ready_fd: int, *, slot: int | None = None) -> None:
    plan.out.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        plan.children[pid] = role
        if slot is not None:
            plan.slots[pid] = slot
        return
    plan.slot = slot
    code = 1
    try:  # the child: never returns into the supervisor's code
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        _stop_when_the_supervisor_dies(plan)
        limit_math_threads()
        code = _child_main(plan, role, ready_fd)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            plan.out.flush()
            sys.stderr.flush()
        os._exit(code)


def _stop_when_the_supervisor_dies(plan: _Plan) -> None:
    """In a child: SIGTERM itself (a clean stop) once the supervisor is gone, however it went (even
    SIGKILL), so no worker outlives it holding the port or the data directory."""
    assert plan.lifeline is not None
    watched, held = plan.lifeline
    os.close(held)

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(watched, 1):  # nothing is ever written: returns b"" at the supervisor's exit
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="milkmobs-supervisor-watch", daemon=True).start()


def _child_main(plan: _Plan, role: str, ready_fd: int) -> int:
    if role == "pipeline":
        from milkmobs.server.pipeline_process import run_pipeline_process

        plan.sock.close()
        assert plan.wake is not None
        return run_pipeline_process(plan.settings, plan.wake[0], ready=lambda: os.write(ready_fd, b"p"))
    app, data_version = _worker_application(plan)
    return _run_http(plan, app, data_version, lambda: os.write(ready_fd, b"r"))


def _worker_application(plan: _Plan) -> tuple[MilkMobs, Callable[[], Hashable] | None]:
    """An HTTP worker's application: the same composition root; on the local backend its workflow
    hands analyses to the pipeline process instead of running them, and the data version (the
    database's and the vector index's) lets it keep hot pages."""
    if plan.wake is None:
        return build_application(plan.settings, background=False), None
    from pathlib import Path

    from milkmobs.adapters.bundle import AdapterSet
    from milkmobs.adapters.local.factory import DATABASE_FILE
    from milkmobs.adapters.local.sqlite_db import SQLiteDatabase
    from milkmobs.adapters.local.sqlite_jobs import SQLiteJobQueue
    from milkmobs.adapters.local.vector_index import PersistedVectorIndex
    from milkmobs.adapters.memory.clock import SystemClock
    from milkmobs.bootstrap import build
    from milkmobs.server.handoff import HandOffWorkflow, pipe_waker

    clock = SystemClock()
    db = SQLiteDatabase(Path(plan.settings.local.data_dir).expanduser() / DATABASE_FILE)
    jobs = SQLiteJobQueue(db)
    wake = pipe_waker(plan.wake[1])

    def hand_off(adapters: AdapterSet) -> HandOffWorkflow:
        if adapters.executions is None:  # the pipeline process writes there what the workers read
            raise ConfigurationError(f"backend {plan.settings.backend!s} keeps no execution log to hand analyses off")
        return HandOffWorkflow(adapters.executions, jobs, clock, wake)

    try:
        app = build(plan.settings, clock=clock, workflow=hand_off)
    except BaseException:
        db.close()
        raise
    app.add_closer(db.close)
    index = app.ports.index
    if not isinstance(index, PersistedVectorIndex):  # an override replaced it: no version to watch
        return app, None
    index.warm()  # the first searches are not slower than the others
    from milkmobs.adapters.local.vector_index import INDEX_DATABASE
    from milkmobs.server.data_version import DataVersion

    # Read from SQLite only after a commit (server/data_version.py); db and the index stay open.
    version = DataVersion(lambda: (db.data_version(), index.version()), [db.path, index.directory / INDEX_DATABASE])
    app.add_closer(version.close)
    return app, version


def _await_ready(plan: _Plan, ready_fd: int, *, expected: int, timeout: float = 600) -> None:
    """Wait for ``expected`` children to say they are ready (an HTTP worker: its application built and
    its server listening; the pipeline process: its start-up recovery done)."""
    deadline = time.monotonic() + timeout
    count = 0
    while count < expected:
        if time.monotonic() > deadline:
            raise ConfigurationError(f"the server's processes did not start within {timeout:.0f} s")
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            role = plan.children.pop(pid, "?")
            raise ConfigurationError(
                f"the {role} process {pid} exited while starting ({os.waitstatus_to_exitcode(status)}); "
                "see the messages above"
            )
        import select

        readable, _, _ = select.select([ready_fd], [], [], 0.1)
        if readable:
            count += len(os.read(ready_fd, expected - count))


def _watch(plan: _Plan, ready_fd: int) -> int:
    """Replace children that die, until a signal (``_Stop``) or too many deaths (then 1)."""
    deaths: list[float] = []
    while True:
        pid, status = os.wait()
        role = plan.children.pop(pid, None)
        if role is None:
            continue
        slot = plan.slots.pop(pid, None)
        if slot is not None and plan.balance is not None:
            plan.balance.vacate(slot)  # no new connection waits for the dead worker's turn
        now = time.monotonic()
        deaths = [t for t in deaths if now - t < 60] + [now]
        code = os.waitstatus_to_exitcode(status)
        if len(deaths) > MAX_RESTARTS_PER_MINUTE:
            print(f"milkmobs: the {role} process {pid} exited ({code}); too many exits, stopping", file=plan.out)
            return 1
        print(f"milkmobs: the {role} process {pid} exited ({code}); starting another", file=plan.out)
        _spawn(plan, role, ready_fd, slot=slot)


def _stop_children(plan: _Plan, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
    """SIGTERM every child, wait for them (``grace`` seconds at most), then SIGKILL what is left."""
    for pid in plan.children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while plan.children and time.monotonic() < deadline:
        pid, _ = os.waitpid(-1, os.WNOHANG)
        if pid:
            plan.children.pop(pid, None)
        else:
            time.sleep(0.05)
    for pid, role in list(plan.children.items()):
        print(f"milkmobs: the {role} process {pid} did not stop in {grace:.0f} s; killed", file=plan.out)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        plan.children.pop(pid, None)
