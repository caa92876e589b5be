"""``make synth`` tells where the CloudFormation template went."""

from __future__ import annotations

from pathlib import Path

from deploy_support import Synth

DEPLOY_DIR = Path(__file__).resolve().parents[1]


def test_the_report_names_the_template_file_it_wrote(synth: Synth) -> None:
    from app import template_report
    from aws_cdk import cx_api

    lines = template_report(cx_api.CloudAssembly(str(synth.outdir)))
    stack_line = next(line for line in lines if line.startswith(f"{synth.stack.stack_name}: "))
    written = Path(stack_line.rsplit(" written to ", 1)[1])
    written = written if written.is_absolute() else DEPLOY_DIR.parent / written  # shown from the repository root
    expected = synth.outdir / f"{synth.stack.stack_name}.template.json"
    assert written.is_file() and written.resolve() == expected.resolve()
    assert any("npx aws-cdk@2 deploy" in line for line in lines)


def test_a_template_inside_the_repository_is_shown_from_its_root() -> None:
    from types import SimpleNamespace

    from app import template_report

    template = DEPLOY_DIR / "cdk.out" / "MilkMobs.template.json"
    inside = SimpleNamespace(stack_name="MilkMobs", template_full_path=str(template))
    lines = template_report(SimpleNamespace(stacks=[inside]))  # type: ignore[arg-type]
    assert lines[0] == "MilkMobs: CloudFormation template written to deploy/cdk.out/MilkMobs.template.json"
