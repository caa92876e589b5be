"""Synthesize the stack once per session; every deploy test reads the same template."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

DEPLOY_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DEPLOY_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # deploy_support
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from deploy_support import ALARM_EMAIL, CORS_ORIGIN, Synth  # noqa: E402


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    import time

    import aws_cdk as cdk
    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    started = time.perf_counter()
    app = cdk.App(
        outdir=str(outdir),
        context={
            "milkmobs:assetMode": "placeholder",  # a tiny stand-in layer: offline and fast
            "milkmobs:alarmEmail": ALARM_EMAIL,
            "milkmobs:corsOrigins": [CORS_ORIGIN],
            "milkmobs:removalPolicy": "destroy",
        },
    )
    error: Exception | None = None
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "AWS_REGION"):
            patch.delenv(name, raising=False)  # environment-agnostic, whatever the shell has
        _, stack = build_app(app)
        try:
            app.synth()  # runs the AwsSolutions checks: any unacknowledged finding raises
        except Exception as exc:  # kept for the nag test, so the other tests still report
            error = exc
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    return Synth(stack, template, outdir, error, time.perf_counter() - started)


@pytest.fixture(scope="session")
def template(synth: Synth) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_json(synth.template)


@pytest.fixture(scope="session")
def concrete_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The stack as ``cdk deploy`` builds it for production: a real account and Region, the default
    removal policy (retain), a multi-node domain, no alarm topic, another name prefix."""
    import time

    import aws_cdk as cdk
    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.concrete")
    started = time.perf_counter()
    app = cdk.App(
        outdir=str(outdir),
        context={
            "milkmobs:assetMode": "placeholder",
            "milkmobs:openSearchDataNodes": 2,
            "milkmobs:namePrefix": "mm2",
        },
    )
    error: Exception | None = None
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_REGION", raising=False)
        patch.setenv("CDK_DEFAULT_ACCOUNT", "123456789012")
        patch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
        _, stack = build_app(app)
        try:
            app.synth()
        except Exception as exc:
            error = exc
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    return Synth(stack, template, outdir, error, time.perf_counter() - started)
