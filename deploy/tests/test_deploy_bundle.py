"""The Lambda bundle as shipped: what each function imports is in its code and layers, its handler
imports in an interpreter that has nothing else, and it fits Lambda's size limit with headroom.

(Each handler is also invoked against moto from such an interpreter: test_deploy_state_machine_runs.)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bundle_support import HandlerWorker, lambda_layer, worker_environment
from milkmobs_infra import assets
from milkmobs_infra.function_specs import FUNCTION_SPECS, FunctionSpec

# Lambda's python3.14 runtime brings these (its own boto3); we ship our locked copy anyway.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}
# bootstrap picks the backend's factory by a string; on Lambda the backend is always aws.
DYNAMIC_ROOTS = ("milkmobs.adapters.aws.factory",)
# Imports that static following sees but no Lambda path reaches, each with the reason.
UNREACHED_ON_LAMBDA = {
    ("milkmobs.adapters.local.media", "av"): "PyAV is the local backend's probe (probe_file); Lambda probes with "
    "the ffmpeg binary (FfmpegProbeProcessor), which never calls it",
}
HEADROOM = 0.9  # a function's code and layers stay under 90 % of Lambda's limit


def _module_file(name: str) -> Path | None:
    base = assets.SRC_DIR / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str, path: Path) -> Iterator[tuple[str, bool]]:
    """(imported module, optional?) for every import in ``path``: module level and inside functions,
    relative ones resolved, ``importlib.import_module("literal")`` too; ``TYPE_CHECKING`` blocks are
    skipped, and imports guarded by ``except ImportError`` are optional."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def walk(node: ast.AST, optional: bool) -> Iterator[tuple[str, bool]]:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (item for child in node.orelse for item in walk(child, optional))
            return
        if isinstance(node, ast.Try):
            guarded = optional or any(
                "ImportError" in ast.unparse(h.type or ast.Name("BaseException")) for h in node.handlers
            )
            for child in node.body:
                yield from walk(child, guarded)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                yield from walk(child, optional)
            return
        if isinstance(node, ast.Import):
            yield from ((alias.name, optional) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            yield base, optional
            for alias in node.names:  # ``from pkg import module``
                if _module_file(f"{base}.{alias.name}"):
                    yield f"{base}.{alias.name}", optional
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func).endswith("import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, optional
        for child in ast.iter_child_nodes(node):
            yield from walk(child, optional)

    yield from walk(tree, False)


def third_party_imports(spec: FunctionSpec) -> dict[str, set[str]]:
    """Every third-party top-level name the function's code can import: ``{name: importing modules}``."""
    seen: set[str] = set()
    todo = [spec.module, *DYNAMIC_ROOTS]
    found: dict[str, set[str]] = {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(module)
        assert path is not None, f"{spec.name}: {module} is imported but not in the code asset"
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a module runs its packages
        for name, optional in _imports(module, path):
            top = name.split(".")[0]
            if top == "milkmobs":
                if _module_file(name):
                    todo.append(name)
                continue
            if optional or top in sys.stdlib_module_names or top == "__future__":
                continue
            found.setdefault(top, set()).add(module)
    return found


def _top_names(directory: Path) -> set[str]:
    return {p.name.removesuffix(".py") for p in directory.iterdir() if not p.name.endswith(".dist-info")}


@pytest.fixture(scope="module")
def shipped_layers() -> dict[str, Path]:
    return {name: lambda_layer(name) for name in assets.LAYER_LOCKS}


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda s: s.name)
def test_every_import_of_a_function_is_in_its_code_or_layers(
    spec: FunctionSpec, shipped_layers: dict[str, Path]
) -> None:
    available = set(RUNTIME_PROVIDED)
    for name in assets.layers_of(spec):
        available |= _top_names(shipped_layers[name])
    missing = {
        name: sorted(modules)
        for name, modules in third_party_imports(spec).items()
        if name not in available and not all((m, name) in UNREACHED_ON_LAMBDA for m in modules)
    }
    assert missing == {}, f"{spec.name} imports what its bundle lacks: {missing}"


def test_the_static_check_sees_imports_inside_functions_and_by_name() -> None:
    """The check would catch the PyAV class of defect: ``av`` is imported inside a function."""
    (thumbnail,) = [s for s in FUNCTION_SPECS if s.name == "generate-thumbnail"]
    found = third_party_imports(thumbnail)
    assert found["av"] == {"milkmobs.adapters.local.media"}  # imported inside a function
    assert "opensearchpy" in found  # reached through bootstrap's import_module of the AWS factory


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda s: s.name)
def test_each_function_fits_lambdas_size_limit_with_headroom(
    spec: FunctionSpec, shipped_layers: dict[str, Path]
) -> None:
    """Code plus its layers, unzipped, as the aarch64 build ships them."""
    code = assets.directory_bytes(assets.SRC_DIR, assets.CODE_EXCLUDES)
    layers = {name: assets.directory_bytes(shipped_layers[name]) for name in assets.layers_of(spec)}
    total = code + sum(layers.values())
    assets.check_unzipped_size(spec.name, [total])
    assert total <= HEADROOM * assets.LAMBDA_UNZIPPED_LIMIT_BYTES, (
        f"{spec.name}: {total / 2**20:.0f} MiB of {assets.LAMBDA_UNZIPPED_LIMIT_BYTES / 2**20:.0f} "
        f"(code {code / 2**20:.1f} MiB, layers { ({k: round(v / 2**20) for k, v in layers.items()}) })"
    )


def test_no_function_but_the_media_ones_carries_ffmpeg(shipped_layers: dict[str, Path]) -> None:
    media = {s.name for s in FUNCTION_SPECS if "media" in assets.layers_of(s)}
    assert media == {"generate-thumbnail", "analysis-mark-processing"}
    assert "imageio_ffmpeg" in _top_names(shipped_layers["media"])  # guarded by ImportError: checked here
    assert "av" not in _top_names(shipped_layers["media"]) | _top_names(shipped_layers["dependencies"])


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda s: s.name)
def test_each_handler_imports_in_an_interpreter_holding_only_its_bundle(spec: FunctionSpec) -> None:
    worker = HandlerWorker(spec, worker_environment({"MILKMOBS_BACKEND": "aws"}))
    try:
        stdlib = [p for p in worker.sys_path if p not in worker.path]
        assert worker.sys_path[: len(worker.path)] == worker.path
        assert not [p for p in stdlib if "site-packages" in p or "dist-packages" in p], stdlib
        assert all(p.startswith(sys.base_prefix) for p in stdlib), stdlib
    finally:
        worker.close()
