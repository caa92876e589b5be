"""cfn-lint (with its ASL validation) and cdk-nag AwsSolutions on the synthesized app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file
from deploy_support import Synth, resolve

# W3005: CDK writes DependsOn that is also implied by a Ref — redundant, harmless.
CFN_LINT_IGNORED = ("W3005",)


def _cfn_lint(path: Path) -> list[dict[str, Any]]:
    """cfn-lint's findings on ``path`` (its Python API, so a broken install fails loudly)."""
    matches = lint_file(path, ManualArgs(ignore_checks=list(CFN_LINT_IGNORED), regions=["us-east-1"]))
    return [
        {
            "Rule": {"Id": m.rule.id},
            "Level": {"E": "Error", "W": "Warning", "I": "Informational"}[m.rule.id[0]],
            "Message": m.message,
        }
        for m in matches
    ]


@pytest.fixture(scope="module")
def lint_findings(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """cfn-lint on the template, its DefinitionString resolved to plain ASL so E3601 checks it
    (cfn-lint skips a definition built with Fn::Join). One run serves every check below."""
    template = json.loads(json.dumps(synth.template))
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    machine["Properties"]["DefinitionString"] = resolve(machine["Properties"]["DefinitionString"], {})
    path = tmp_path_factory.mktemp("lint") / "resolved.template.json"
    path.write_text(json.dumps(template))
    return _cfn_lint(path)


def test_cfn_lint_finds_no_errors(lint_findings: list[dict[str, Any]]) -> None:
    errors = [f for f in lint_findings if f["Level"] == "Error"]
    assert errors == [], json.dumps(errors, indent=1)[:3000]


def test_the_state_machine_definition_passes_asl_validation(lint_findings: list[dict[str, Any]]) -> None:
    assert not [f for f in lint_findings if f["Rule"]["Id"] == "E3601"]


def test_every_iam_action_is_one_aws_knows(lint_findings: list[dict[str, Any]]) -> None:
    # W3037: an action name IAM does not have (it would silently grant nothing)
    assert [f["Message"][:120] for f in lint_findings if f["Rule"]["Id"] == "W3037"] == []


def test_the_asl_validator_rejects_a_broken_definition(synth: Synth, tmp_path: Path) -> None:
    """The same check fails with E3601 when StartAt names a missing state."""
    (machine,) = synth.resources("AWS::StepFunctions::StateMachine").values()
    asl = resolve(machine["Properties"]["DefinitionString"], {})
    assert '"StartAt":"MarkProcessing"' in asl
    broken = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/machine",
                    "DefinitionString": asl.replace('"StartAt":"MarkProcessing"', '"StartAt":"NoSuchState"', 1),
                },
            }
        },
    }
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(broken))
    findings = _cfn_lint(path)
    assert any(f["Rule"]["Id"] == "E3601" and "NoSuchState" in f["Message"] for f in findings)


def test_the_app_passes_aws_solutions_checks(synth: Synth) -> None:
    assert synth.synth_error is None, str(synth.synth_error)[:3000]


def test_every_acknowledged_finding_has_a_reason(synth: Synth) -> None:
    acknowledged: dict[str, str] = {}
    for node in synth.stack.node.find_all():
        for entry in node.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                acknowledged.update(entry.data)  # {"Annotation::AwsSolutions-<rule>": reason}
    ours = {rule: reason for rule, reason in acknowledged.items() if "AwsSolutions-" in rule}
    assert len(ours) > 20
    for rule, reason in ours.items():
        assert len(reason) > 30, f"{rule}: say why ({reason!r})"


def test_aws_solutions_checks_do_fail_a_wildcard_policy(tmp_path: Path) -> None:
    """The checks are live: a role with a wildcard policy and no reason fails the synth."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Wildcard")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:*"], resources=["*"]))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match=r"Validation failed|ValidationFailed"):
        app.synth()


def test_aws_solutions_checks_pass_for_a_concrete_environment_too(concrete_synth: Synth) -> None:
    """``cdk deploy`` gives the stack a real account and Region (and findings then name them), and
    other choices change the template: a multi-node domain, retained data, no alarm topic."""
    if concrete_synth.synth_error is not None:
        raise concrete_synth.synth_error  # an unacknowledged finding
    template = concrete_synth.template
    (domain,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::OpenSearchService::Domain"]
    assert domain["Properties"]["ClusterConfig"]["ZoneAwarenessEnabled"] is True
    assert ":bedrock:eu-west-1:123456789012:async-invoke/*" in json.dumps(template)
