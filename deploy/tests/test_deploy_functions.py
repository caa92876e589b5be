"""The Lambda functions: entry points, seed sizes, runtime, logs, settings, dependency layers."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from deploy_support import Synth
from milkmobs_infra.function_specs import FUNCTION_SPECS, SPECS_BY_NAME, Search, Trigger, with_trigger
from milkmobs_infra.functions import known_setting, settings_environment, settings_read_by

from milkmobs.core.workflow import ANALYSIS_WORKFLOW
from milkmobs.settings import env_name

# name: (timeout seconds, memory MB where the seed gives one — and for analysis-mark-processing,
# which probes the file with ffmpeg in our core)
SEED_FUNCTIONS = {
    "create-upload": (10, None),
    "list-user-videos": (10, None),
    "get-video-detail": (10, None),
    "get-feed": (10, None),
    "list-mobs": (10, None),
    "get-mob": (10, None),
    "search-similar": (30, 512),
    "get-execution-history": (30, None),
    "admin-list-videos": (10, None),
    "admin-delete-video": (30, None),
    "admin-get-stats": (30, None),
    "admin-get-usage-stats": (30, None),
    "start-analysis": (30, None),
    "generate-thumbnail": (300, 1024),
    "analysis-mark-processing": (30, 1024),
    "analysis-pegasus": (300, None),
    "analysis-marengo": (300, None),
    "analysis-write-result": (30, None),
    "validate-video": (30, None),
    # create-opensearch-index: the seed's 120 s, raised to retry while a new domain comes up
    "cluster-video": (30, None),
    "cluster-embeddings": (300, 512),
    "create-opensearch-index": (900, None),
}


def _functions(synth: Synth) -> dict[str, dict[str, Any]]:
    """Our functions by seed name (CDK's own helper functions have no FunctionName)."""
    return {
        p["Properties"]["FunctionName"].removeprefix("milkmobs-"): p["Properties"]
        for p in synth.resources("AWS::Lambda::Function").values()
        if isinstance(p["Properties"].get("FunctionName"), str)
    }


def test_every_seed_function_the_catch_task_and_the_mobs_map_exist(synth: Synth) -> None:
    functions = _functions(synth)
    assert len(SEED_FUNCTIONS) == 22
    assert set(functions) == set(SEED_FUNCTIONS) | {
        "analysis-mark-failed",
        "admin-get-mob-map",
        "admin-recluster",
        "sweep-stuck-videos",
    }
    assert set(ANALYSIS_WORKFLOW.lambda_functions()) <= set(functions)


@pytest.mark.parametrize("name", sorted(SEED_FUNCTIONS))
def test_seed_timeouts_and_memory(synth: Synth, name: str) -> None:
    props = _functions(synth)[name]
    timeout, memory = SEED_FUNCTIONS[name]
    assert props["Timeout"] == timeout
    assert props["MemorySize"] == (memory or 256)


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda s: s.name)
def test_each_function_runs_its_own_milkmobs_entry_point(synth: Synth, spec: Any) -> None:
    props = _functions(synth)[spec.name]
    assert props["Handler"] == f"milkmobs.lambdas.{spec.name.replace('-', '_')}.handler"
    module = importlib.import_module(spec.module)
    assert callable(module.handler), f"{spec.module} has no handler"


def test_current_python_runtime_on_arm64_with_a_log_group_each(synth: Synth) -> None:
    log_groups = synth.resources("AWS::Logs::LogGroup")
    for name, props in _functions(synth).items():
        assert props["Runtime"] == "python3.14", name
        assert props["Architectures"] == ["arm64"], name
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[group]["Properties"]["RetentionInDays"] == 30, name


def test_each_function_gets_only_the_settings_it_reads(synth: Synth) -> None:
    for name, props in _functions(synth).items():
        env = props["Environment"]["Variables"]
        fields = {k.removeprefix("MILKMOBS_").lower().replace("__", ".") for k in env if k.startswith("MILKMOBS_")}
        assert all(known_setting(field) for field in fields), name
        assert fields <= settings_read_by(SPECS_BY_NAME[name]), name
        assert env["MILKMOBS_BACKEND"] == "aws"
        # the cursor key is never in the environment: the functions read it from Secrets Manager
        assert "MILKMOBS_AWS__CURSOR_SECRET" not in env, name
    functions = _functions(synth)
    by_field = {
        field: {name for name, props in functions.items() if env_name(field) in props["Environment"]["Variables"]}
        for field in (
            "aws.videos_table",
            "aws.mobs_table",
            "opensearch.endpoint",
            "models.pegasus_model_id",
            "aws.state_machine_arn",
            "aws.cursor_secret_id",
            "aws.media_bucket",
        )
    }
    assert by_field["aws.state_machine_arn"] == {"start-analysis", "get-execution-history", "sweep-stuck-videos"}
    assert by_field["opensearch.endpoint"] == {s.name for s in FUNCTION_SPECS if s.search is not Search.NONE}
    # the usage report names and prices the configured models
    assert by_field["models.pegasus_model_id"] == {
        "analysis-pegasus",
        "analysis-marengo",
        "search-similar",
        "admin-get-usage-stats",
    }
    assert "list-mobs" not in by_field["aws.videos_table"] and "list-mobs" in by_field["aws.mobs_table"]
    # the functions that page through videos (their cursors are signed with the key), all with the table
    assert by_field["aws.cursor_secret_id"] == {s.name for s in FUNCTION_SPECS if s.lists}
    assert by_field["aws.cursor_secret_id"] < by_field["aws.videos_table"]
    assert "create-opensearch-index" not in by_field["aws.media_bucket"]
    media = {
        name
        for name, props in functions.items()
        if props["Environment"]["Variables"]["MILKMOBS_AWS__MEDIA_PROCESSING"] == "true"
    }
    assert media == {"generate-thumbnail", "analysis-mark-processing"}
    # start-analysis asks generate-thumbnail for each thumbnail asynchronously (the seed's flow)
    thumbnail_target = functions["start-analysis"]["Environment"]["Variables"]["MILKMOBS_AWS__THUMBNAIL_FUNCTION_NAME"]
    assert "Ref" in thumbnail_target and "GenerateThumbnail" in str(thumbnail_target).replace("-", "")


def test_settings_environment_refuses_names_settings_does_not_know() -> None:
    values = {"aws.videos_table": "t", "http.cors_origins": ["a"], "models.embedding_dimension": None}
    assert settings_environment(values) == {
        "MILKMOBS_AWS__VIDEOS_TABLE": "t",
        "MILKMOBS_HTTP__CORS_ORIGINS": '["a"]',
    }
    with pytest.raises(ValueError, match="video_table"):
        settings_environment({"video_table": "typo"})


def test_ffmpeg_and_room_in_tmp_only_for_the_functions_that_read_the_video(synth: Synth) -> None:
    layers = synth.resources("AWS::Lambda::LayerVersion")
    ffmpeg = {k for k, v in layers.items() if "ffmpeg" in v["Properties"]["Description"]}
    assert len(ffmpeg) == 1
    for name, props in _functions(synth).items():
        refs = {layer["Ref"] for layer in props["Layers"]}
        assert (ffmpeg <= refs) == SPECS_BY_NAME[name].media, name
        assert len(refs - ffmpeg) == 1, "every function has the dependency layer"
        reads_video = name in ("generate-thumbnail", "analysis-mark-processing")
        assert SPECS_BY_NAME[name].media == reads_video, name
        assert props.get("EphemeralStorage") == ({"Size": 1024} if reads_video else None), name


def test_every_lambda_module_is_declared_once() -> None:
    """A module in milkmobs.lambdas without a FunctionSpec would never be deployed (nor granted)."""
    import milkmobs.lambdas

    modules = {p.stem for p in Path(milkmobs.lambdas.__file__).parent.glob("*.py") if not p.stem.startswith("_")}
    declared = [spec.module.rpartition(".")[2] for spec in FUNCTION_SPECS]
    assert len(declared) == len(set(declared))
    missing = sorted(modules - set(declared))
    assert not missing, f"add a FunctionSpec line to deploy/milkmobs_infra/function_specs.py for: {missing}"
    assert set(declared) <= modules


def test_the_stack_names_no_function() -> None:
    """Which function gets what comes from its declaration, never from its name spelled in the stack."""
    stack_source = (Path(__file__).resolve().parents[1] / "milkmobs_infra" / "stack.py").read_text()
    named = [spec.name for spec in FUNCTION_SPECS if f'"{spec.name}"' in stack_source]
    assert named == []


def test_workflow_tasks_and_triggers_match_the_declarations() -> None:
    workflow_functions = {s.name for s in with_trigger(Trigger.WORKFLOW)}
    assert set(ANALYSIS_WORKFLOW.lambda_functions()) == workflow_functions
    for spec in FUNCTION_SPECS:
        assert bool(spec.routes) == (Trigger.API in spec.triggers), spec.name
