"""Where the TwelveLabs models are offered, so a deploy to any other Region fails before it starts.

Bedrock reads the video from the media bucket, and the bucket must be in the Region of the model
call (otherwise every call is a ``ValidationException``), so the stack's Bedrock Region must offer
*both* configured models. Sources (docs/deploy.md, "Regions"):

- Marengo Embed 3.0: AWS Bedrock user guide, "TwelveLabs Marengo Embed 3.0" (model-parameters-marengo-3):
  StartAsyncInvoke in US East (N. Virginia), Europe (Ireland), Asia Pacific (Seoul).
- Marengo Embed 2.7: TwelveLabs docs, "Amazon Bedrock" integration page: the same three Regions.
- Pegasus 1.2: TwelveLabs docs, "Analyze videos" (Amazon Bedrock), Regional availability, and the
  AWS user guide's inference-profile table (us./eu./apac./global. profiles).

When the stack has a concrete Region the synth refuses a Region outside the table; an
environment-agnostic synth gets a CloudFormation Rule instead, which fails the change set before
any resource is created.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from constructs import Construct

from milkmobs.adapters.aws.bedrock.models import base_model_id

MODEL_REGIONS: dict[str, frozenset[str]] = {
    "twelvelabs.marengo-embed-3-0-v1:0": frozenset({"us-east-1", "eu-west-1", "ap-northeast-2"}),
    "twelvelabs.marengo-embed-2-7-v1:0": frozenset({"us-east-1", "eu-west-1", "ap-northeast-2"}),
    "twelvelabs.pegasus-1-2-v1:0": frozenset(
        {
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "ca-central-1",
            "ca-west-1",
            "eu-west-1",
            "eu-central-1",
            "eu-west-2",
            "eu-west-3",
            "eu-north-1",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-south-1",
            "ap-southeast-1",
            "ap-southeast-2",
        }
    ),
}


def regions_offering(model_ids: Iterable[str]) -> frozenset[str]:
    """The Regions that offer every one of ``model_ids`` (profile prefixes ignored); ValueError for
    a model the table does not know, so a new model cannot skip the check."""
    regions: frozenset[str] | None = None
    for model_id in model_ids:
        base = base_model_id(model_id)
        if base not in MODEL_REGIONS:
            raise ValueError(
                f"no Region list for model {model_id!r}: add it to milkmobs_infra.regions.MODEL_REGIONS "
                "(with its source in docs/deploy.md)"
            )
        regions = MODEL_REGIONS[base] if regions is None else regions & MODEL_REGIONS[base]
    return regions or frozenset()


def require_models_offered(scope: Construct, *, region: str, stack_region: str, model_ids: Iterable[str]) -> None:
    """Refuse (synth error) a concrete Region where a model is not offered, or a Bedrock Region other
    than the bucket's; add a template Rule when the Region is only known at deploy time."""
    models = list(model_ids)
    allowed = regions_offering(models)
    known = not cdk.Token.is_unresolved(region) and not cdk.Token.is_unresolved(stack_region)
    if known and region != stack_region:
        raise ValueError(
            f"Bedrock reads the videos from the media bucket, which must be in the model's Region: the stack "
            f"is in {stack_region} and milkmobs:bedrockRegion is {region}; deploy the stack to {region}"
        )
    if not cdk.Token.is_unresolved(region):
        if region not in allowed:
            raise ValueError(
                f"the models {', '.join(models)} are not all offered in {region}; deploy to one of "
                f"{', '.join(sorted(allowed))} (or set milkmobs:bedrockRegion to one of them)"
            )
        return
    cdk.CfnRule(
        scope,
        "ModelsOfferedInRegion",
        assertions=[
            cdk.CfnRuleAssertion(
                assert_=cdk.Fn.condition_contains(sorted(allowed), region),
                assert_description=f"The models {', '.join(models)} are offered only in "
                f"{', '.join(sorted(allowed))}: deploy the stack to one of those Regions.",
            )
        ],
    )
