#!/usr/bin/env python3
"""The CDK app: ``cd deploy && ../.venv/bin/python app.py`` (or ``make synth``, or ``npx aws-cdk@2 deploy``).

Account and Region come from the environment (``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION``, as the
CDK CLI sets them, or ``AWS_REGION``); without them the stack synthesizes environment-agnostic, so
no credentials are needed to synth. Deployment choices are CDK context keys ``milkmobs:*``: the CLI
passes ``cdk.json`` and ``-c key=value``; run directly, this script reads the same two itself.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

DEPLOY_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DEPLOY_DIR))

import aws_cdk as cdk  # noqa: E402
from aws_cdk import cx_api  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402
from milkmobs_infra.config import DeployConfig  # noqa: E402
from milkmobs_infra.stack import MilkMobsStack  # noqa: E402


def build_app(app: cdk.App | None = None) -> tuple[cdk.App, MilkMobsStack]:
    """The app with its one stack, the AwsSolutions checks attached (a finding fails the synth)."""
    app = app or cdk.App(outdir=str(DEPLOY_DIR / "cdk.out"))
    config = DeployConfig.from_context(app.node)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    env = cdk.Environment(account=account, region=region) if account or region else None
    stack_name = app.node.try_get_context("milkmobs:stackName") or "MilkMobs"
    stack = MilkMobsStack(
        app, stack_name, config=config, env=env, description="milkmobs: video campaign analysis (TwelveLabs on Bedrock)"
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def template_report(assembly: cx_api.CloudAssembly) -> list[str]:
    """One line per synthesized stack: where its CloudFormation template is (from the repository root,
    where ``make synth`` runs), and how to deploy it."""
    lines = []
    for stack in assembly.stacks:
        path = Path(stack.template_full_path).resolve()
        shown = path.relative_to(DEPLOY_DIR.parent) if path.is_relative_to(DEPLOY_DIR.parent) else path
        lines.append(f"{stack.stack_name}: CloudFormation template written to {shown}")
    lines.append("deploy it with: cd deploy && npx aws-cdk@2 deploy (see docs/deploy.md)")
    return lines


def direct_context(argv: list[str]) -> dict[str, Any]:
    """Without the CLI: ``cdk.json``'s context, then ``-c key=value`` arguments (values JSON or text)."""
    context: dict[str, Any] = dict(json.loads((DEPLOY_DIR / "cdk.json").read_text()).get("context", {}))
    for flag, pair in itertools.pairwise(argv):
        if flag in ("-c", "--context") and "=" in pair:
            key, value = pair.split("=", 1)
            try:
                context[key] = json.loads(value)
            except json.JSONDecodeError:
                context[key] = value
    return context


if __name__ == "__main__":
    # Under the CDK CLI the App takes its output folder and context from the CLI's environment.
    under_cli = "CDK_OUTDIR" in os.environ
    main_app = cdk.App() if under_cli else cdk.App(outdir=str(DEPLOY_DIR / "cdk.out"), context=direct_context(sys.argv))
    assembly = build_app(main_app)[0].synth()
    if not under_cli:  # `make synth`: say where the template went (the CDK CLI reports its own)
        print("\n".join(template_report(assembly)))
