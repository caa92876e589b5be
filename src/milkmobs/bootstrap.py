"""The composition root: settings → one backend's adapters → the ``MilkMobs`` application.

The one place that knows which adapter is which. Nothing is built at import time::

    from milkmobs.bootstrap import build
    with build() as app:                      # memory backend, synchronous pipeline
        ...
    app = build(Settings(backend="local"), background=True)   # what `milkmobs serve` runs

Overrides replace single adapters: the keyword arguments of ``AdapterOverrides`` (typed, one
per ``AdapterSet`` field, plus ``clock`` and ``ids``). An override may also be a function taking the
adapters built so far (earlier overrides applied, in the order given), for adapters that depend on
others::

    build(analyzer=lambda adapters: FakeAnalyzer(adapters.media, transient_failure_rate=0.3))

The factory's own analyzer and media processor read the factory's media store: when you replace
``media``, replace them too (with functions, as above) so they read from yours.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Iterator, Mapping
from typing import Unpack

from milkmobs.adapters.bundle import AdapterOverrides, AdapterSet
from milkmobs.adapters.deferred import built, on_first_use, pending
from milkmobs.adapters.inprocess import InProcessOrchestrator
from milkmobs.core.config import CoreConfig
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.recovery import recover
from milkmobs.core.service import MilkMobs
from milkmobs.core.steps import StepContext
from milkmobs.domain import ConfigurationError
from milkmobs.extras import require_backend_extra
from milkmobs.ports import Analyzer, Clock, ExecutionLog, IdGenerator, VectorIndex, Workflow
from milkmobs.settings import Backend, ModelSettings, Settings

_OVERRIDES = AdapterOverrides.__optional_keys__
_FACTORIES = {
    Backend.MEMORY: "milkmobs.adapters.memory.factory",
    Backend.LOCAL: "milkmobs.adapters.local.factory",
    Backend.AWS: "milkmobs.adapters.aws.factory",
}


def core_config(settings: Settings) -> CoreConfig:
    """The plain values the core needs, from the validated settings (their one home of defaults)."""
    uploads, clustering, models = settings.uploads, settings.clustering, settings.models
    return CoreConfig(
        campaign=settings.campaign,
        max_upload_bytes=uploads.max_upload_bytes,
        max_video_seconds=uploads.max_video_seconds,
        upload_url_expires_seconds=uploads.upload_url_expires_seconds,
        read_url_expires_seconds=uploads.read_url_expires_seconds,
        cluster_join_threshold=clustering.join_threshold,
        batch_cluster_k=clustering.batch_k,
        batch_cluster_max_iter=clustering.batch_max_iter,
        batch_cluster_sample=clustering.batch_sample,
        random_seed=settings.random_seed,
        prices_per_second=_PricesPerSecond(models),
    )


class _PricesPerSecond(Mapping[str, float]):
    """USD per video second by Bedrock model id, read from the model settings when a usage report
    first prices usage (the functions that never do are not given the model settings), then kept:
    the settings are frozen."""

    def __init__(self, models: ModelSettings) -> None:
        self._models = models
        self._prices: dict[str, float] | None = None

    def _table(self) -> dict[str, float]:
        if self._prices is None:
            models = self._models
            self._prices = {
                models.pegasus_model_id: models.pegasus_price_per_second,
                models.marengo_model_id: models.marengo_price_per_second,
            }
        return self._prices

    def __getitem__(self, model_id: str) -> float:
        return self._table()[model_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


def build_adapter_set(settings: Settings, *, clock: Clock, ids: IdGenerator) -> AdapterSet:
    """The adapters of ``settings.backend``, its factory module imported only now (the AWS one
    needs boto3, the local one ffmpeg bindings)."""
    require_backend_extra(settings.backend)  # one line naming the extra, not a ModuleNotFoundError at first upload
    module_name = _FACTORIES[Backend(settings.backend)]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"backend {settings.backend!s} is not available ({exc}); install its extra, "
            "e.g. pip install 'milkmobs[aws]' or 'milkmobs[media]'"
        ) from exc
    adapters: AdapterSet = module.build_adapters(settings, clock=clock, ids=ids)
    return adapters


def _check_dimensions(settings: Settings, analyzer: Analyzer, index: VectorIndex) -> None:
    analyzer_dim = analyzer.embedding_dimension
    index_dim = index.dimension
    if analyzer_dim != index_dim:
        raise ConfigurationError(
            f"the analyzer {analyzer.__class__.__name__} embeds in {analyzer_dim} dimensions but the vector "
            f"index {index.__class__.__name__} holds {index_dim}; configure the same embedding dimension"
        )
    if settings.models.embedding_dimension is not None and settings.models.embedding_dimension != analyzer_dim:
        raise ConfigurationError(
            f"MILKMOBS_MODELS__EMBEDDING_DIMENSION is {settings.models.embedding_dimension} but the analyzer "
            f"{analyzer.__class__.__name__} produces {analyzer_dim}-dimensional embeddings"
        )


def _check_dimensions_once_built(settings: Settings, adapters: AdapterSet) -> None:
    """The analyzer and the index agree on the embedding dimension: checked now, or, for adapters
    built on first use, as soon as both exist (a function that uses one of them builds neither
    the other nor reads its settings)."""
    analyzer, index = adapters.analyzer, adapters.index
    pending_analyzer, pending_index = pending(analyzer), pending(index)
    if pending_analyzer is None and pending_index is None:
        _check_dimensions(settings, analyzer, index)
        return
    if pending_analyzer is not None:
        pending_analyzer.when_built(lambda made: None if pending(index) else _check_dimensions(settings, made, index))
    if pending_index is not None:
        pending_index.when_built(
            lambda made: None if pending(analyzer) else _check_dimensions(settings, analyzer, made)
        )


def _default_clock_and_ids() -> tuple[Clock, IdGenerator]:
    from milkmobs.adapters.memory.clock import SystemClock, UuidIdGenerator

    return SystemClock(), UuidIdGenerator()


def build(
    settings: Settings | None = None,
    *,
    background: bool = False,
    retry_interval_scale: float = 1.0,
    wait_scale: float = 1.0,
    **overrides: Unpack[AdapterOverrides],
) -> MilkMobs:
    """Build the application for ``settings`` (default: ``Settings()`` from the environment).

    ``background=True`` runs the in-process workflow on a thread pool of ``settings.local.workers``
    (``milkmobs serve``) and first recovers what a previous process left half-done
    (``core.recovery.recover``: interrupted executions, mob counts, index rows);
    otherwise each upload is analysed before ``upload_video`` returns.
    ``retry_interval_scale`` and ``wait_scale`` shrink the workflow's retry delays and waits (tests
    pass 0). Close the app (``app.close()`` or ``with build() as app``) to stop workers and release
    files and clients.
    """
    settings = settings if settings is not None else Settings()
    unknown = sorted(set(overrides) - _OVERRIDES)
    if unknown:  # a caller mypy does not check
        raise ConfigurationError(f"unknown override(s) {unknown}; use {sorted(_OVERRIDES)}")
    default_clock, default_ids = _default_clock_and_ids()
    clock = overrides.pop("clock", default_clock)
    ids = overrides.pop("ids", default_ids)

    adapters = build_adapter_set(settings, clock=clock, ids=ids)
    for name, value in overrides.items():
        # type(), not isinstance(): isinstance would build an adapter given as a stand-in
        replacement = value(adapters) if type(value) is types.FunctionType else value
        setattr(adapters, name, replacement)  # the TypedDict typed the value for this field
    _check_dimensions_once_built(settings, adapters)

    ports = CorePorts(
        videos=adapters.videos,
        mobs=adapters.mobs,
        media=adapters.media,
        analyzer=adapters.analyzer,
        index=adapters.index,
        events=adapters.events,
        metrics=adapters.metrics,
        clock=clock,
        ids=ids,
        claims=adapters.claims,
        media_processor=adapters.media_processor,
    )
    config = core_config(settings)
    # The orchestrator runs the steps on the ports and configuration alone, so it exists before the
    # facade, which is then built whole with it.
    context = StepContext(ports, config)
    orchestrators: list[InProcessOrchestrator] = []

    def in_process() -> InProcessOrchestrator:
        executions: ExecutionLog
        if adapters.executions is not None:
            executions = adapters.executions
        else:
            from milkmobs.adapters.memory.execution_log import InMemoryExecutionLog

            executions = InMemoryExecutionLog()
        orchestrator = InProcessOrchestrator(
            context,
            executions,
            background=background,
            workers=settings.local.workers,
            retry_interval_scale=retry_interval_scale,
            wait_scale=wait_scale,
            seed=settings.random_seed,
        )
        orchestrators.append(orchestrator)
        return orchestrator

    def backend_or_in_process(given: Workflow | None) -> Workflow:
        return given if given is not None else in_process()

    def shutdown() -> None:
        for orchestrator in orchestrators:
            orchestrator.shutdown()

    workflow: Workflow
    backend_workflow = pending(adapters.workflow)
    if backend_workflow is not None and not background:
        # The backend's workflow is built on first use (AWS: Step Functions where the function is
        # given a state machine), and so is the orchestrator that stands in where there is none.
        chosen = backend_workflow
        workflow = on_first_use("the workflow", lambda: backend_or_in_process(chosen.get()))
    else:
        workflow = backend_or_in_process(built(adapters.workflow))
    app = MilkMobs(ports, config, workflow)
    for closer in adapters.closers:
        app.add_closer(closer)
    app.add_closer(shutdown)  # closers run in reverse: workers stop before adapters close
    if background and orchestrators:
        recover(context, orchestrators[0])  # what a previous `milkmobs serve` left half-done
    return app
