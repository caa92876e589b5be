"""Helpers shared by the deploy tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALARM_EMAIL = "ops@example.com"
CORS_ORIGIN = "https://app.example.com"


@dataclass
class Synth:
    """The synthesized app: the stack object, its template as a dict, and the assembly folder."""

    stack: Any
    template: dict[str, Any]
    outdir: Path
    synth_error: Exception | None
    seconds: float

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}


def resolve(value: Any, refs: dict[str, str]) -> Any:
    """Render ``Fn::Join``/``Fn::GetAtt``/``Ref`` with stand-in values (``refs``: logical id → value)."""
    if isinstance(value, dict):
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(resolve(p, refs)) for p in parts)
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return refs.get(f"{logical_id}.{attribute}", f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}")
        if "Ref" in value:
            return refs.get(
                value["Ref"],
                {
                    "AWS::Partition": "aws",
                    "AWS::Region": "us-east-1",
                    "AWS::AccountId": "123456789012",
                    "AWS::URLSuffix": "amazonaws.com",
                }.get(value["Ref"], value["Ref"]),
            )
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    return value


def state_machine_definition(synth: Synth, refs: dict[str, str] | None = None) -> dict[str, Any]:
    """The ASL of the one state machine, tokens replaced."""
    (machine,) = synth.resources("AWS::StepFunctions::StateMachine").values()
    return dict(json.loads(resolve(machine["Properties"]["DefinitionString"], refs or {})))


def moto_distribution(cloudfront: Any, bucket: str) -> str:
    """The id of a CloudFront distribution created in moto in front of ``bucket``."""
    return str(
        cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "milkmobs",
                "Comment": "",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "media",
                            "DomainName": f"{bucket}.s3.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {"TargetOriginId": "media", "ViewerProtocolPolicy": "https-only"},
            }
        )["Distribution"]["Id"]
    )
