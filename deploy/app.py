#!/usr/bin/env python3
"""The CDK app: ``cd deploy && ../.venv/bin/python app.py`` (or ``make synth``, or ``npx cdk deploy``).

Account and Region come from the environment (``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION``, as the
CDK CLI sets them, or ``AWS_REGION``); without them the stack synthesizes environment-agnostic, so
no credentials are needed to synth. Deployment choices are CDK context keys ``milkmobs:*`` (cdk.json).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from milkmobs_infra.config import DeployConfig
from milkmobs_infra.stack import MilkMobsStack


def build_app(app: cdk.App | None = None) -> tuple[cdk.App, MilkMobsStack]:
    """The app with its one stack, the AwsSolutions checks attached (a finding fails the synth)."""
    app = app or cdk.App(outdir=str(Path(__file__).resolve().parent / "cdk.out"))
    config = DeployConfig.from_context(app.node)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    env = cdk.Environment(account=account, region=region) if account or region else None
    stack_name = app.node.try_get_context("milkmobs:stackName") or "MilkMobs"
    stack = MilkMobsStack(app, stack_name, config=config, env=env,
                          description="milkmobs: video campaign analysis (TwelveLabs on Bedrock)")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
