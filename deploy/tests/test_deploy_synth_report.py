"""``make synth`` tells where the CloudFormation template went."""

from __future__ import annotations

from pathlib import Path

from deploy_support import Synth


def test_the_report_names_the_template_file_it_wrote(synth: Synth) -> None:
    from app import template_report
    from aws_cdk import cx_api

    lines = template_report(cx_api.CloudAssembly(str(synth.outdir)))
    stack_line = next(line for line in lines if line.startswith(f"{synth.stack.stack_name}: "))
    written = Path(stack_line.rsplit(" written to ", 1)[1])
    expected = synth.outdir / f"{synth.stack.stack_name}.template.json"
    assert written.is_file() and written.resolve() == expected.resolve()
    assert any("npx aws-cdk@2 deploy" in line for line in lines)
