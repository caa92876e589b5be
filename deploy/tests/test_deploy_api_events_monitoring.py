"""The REST API (routes, admin authorizer, validation, throttling), events and monitoring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match
from deploy_support import ALARM_EMAIL, Synth
from milkmobs_infra.api import ROUTES
from milkmobs_infra.function_specs import FUNCTION_SPECS

from milkmobs.api.auth import ADMIN_GROUP

REPO = Path(__file__).resolve().parents[2]


def _paths(synth: Synth) -> dict[str, str]:
    """API Gateway resource logical id → full path."""
    resources = synth.resources("AWS::ApiGateway::Resource")
    (api_id,) = synth.resources("AWS::ApiGateway::RestApi")

    def path_of(logical_id: str) -> str:
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent and parent["Fn::GetAtt"][0] == api_id else path_of(parent["Ref"])
        return f"{prefix}/{props['PathPart']}"

    return {logical_id: path_of(logical_id) for logical_id in resources}


def _methods(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    paths = _paths(synth)
    methods = {}
    for method in synth.resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            continue
        methods[(props["HttpMethod"], paths[props["ResourceId"]["Ref"]])] = props
    return methods


def _function_name(synth: Synth, integration: dict[str, Any]) -> str:
    uri = json.dumps(integration["Uri"])
    for logical_id, function in synth.resources("AWS::Lambda::Function").items():
        if f'"{logical_id}"' in uri:
            return str(function["Properties"]["FunctionName"])
    raise AssertionError(f"no function behind {uri}")


def test_every_route_of_the_contract_reaches_its_function(synth: Synth) -> None:
    methods = _methods(synth)
    assert set(methods) == {(r.method, r.path) for r in ROUTES}
    for route in ROUTES:
        props = methods[(route.method, route.path)]
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert _function_name(synth, props["Integration"]) == f"milkmobs-{route.function}"


def test_the_routes_are_those_of_the_generated_openapi_document() -> None:
    document = json.loads((REPO / "docs" / "openapi.json").read_text())
    documented = {(m.upper(), p) for p, item in document["paths"].items() for m in item if m != "parameters"}
    assert {(r.method, r.path) for r in ROUTES} == documented


def test_admin_routes_and_only_they_need_a_cognito_user(synth: Synth, template: Any) -> None:
    ((authorizer_id, authorizer),) = synth.resources("AWS::ApiGateway::Authorizer").items()
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    for (method, path), props in _methods(synth).items():
        if path.startswith("/admin/"):
            assert props["AuthorizationType"] == "COGNITO_USER_POOLS", (method, path)
            assert props["AuthorizerId"] == {"Ref": authorizer_id}
        else:
            assert props["AuthorizationType"] == "NONE", (method, path)
    template.has_resource_properties("AWS::Cognito::UserPoolGroup", {"GroupName": ADMIN_GROUP})
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}, "MfaConfiguration": "ON"},
    )


def test_requests_are_validated_where_the_gateway_can(synth: Synth, template: Any) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator", {"ValidateRequestBody": True, "ValidateRequestParameters": True}
    )
    methods = _methods(synth)
    assert methods[("POST", "/videos/submit")]["RequestModels"]["application/json"]
    assert methods[("POST", "/validate")]["RequestModels"]["application/json"]
    for path, query in (
        ("/videos/user", "userId"),
        ("/search/similar", "videoId"),
        ("/search/text", "q"),
        ("/execution-history", "videoId"),
    ):
        assert methods[("GET", path)]["RequestParameters"] == {f"method.request.querystring.{query}": True}
        assert "RequestValidatorId" in methods[("GET", path)]
    (submit,) = [
        m for m in synth.resources("AWS::ApiGateway::Model").values() if m["Properties"]["Name"] == "SubmitRequest"
    ]
    schema = submit["Properties"]["Schema"]
    assert schema["properties"]["hashtags"]["type"] == ["array", "null"]
    assert "userId" in schema["properties"] and "sizeBytes" in schema["properties"]


def test_stage_throttling_logging_cors_and_binary_types(synth: Synth, template: Any) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {
            "Name": "MilkMobsApi",
            "BinaryMediaTypes": Match.array_with(["multipart/form-data"]),
        },
    )
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "prod",
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "ThrottlingRateLimit": 50,
                            "ThrottlingBurstLimit": 100,
                            "MetricsEnabled": True,
                        }
                    )
                ]
            ),
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
        },
    )
    # CORS admits the published pages' origin only: test_deploy_web.py
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "UNAUTHORIZED",
            "ResponseTemplates": {"application/json": Match.string_like_regexp('"code": "unauthorized"')},
        },
    )


def test_bus_hourly_clustering_and_stuck_video_sweep_schedules(synth: Synth, template: Any) -> None:
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "milk-mobs-bus"})
    schedules: dict[str, str] = {}
    for rule in synth.resources("AWS::Events::Rule").values():
        if "ScheduleExpression" in rule["Properties"]:
            (target,) = rule["Properties"]["Targets"]
            function = synth.template["Resources"][target["Arn"]["Fn::GetAtt"][0]]
            schedules[function["Properties"]["FunctionName"]] = rule["Properties"]["ScheduleExpression"]
    assert schedules == {
        "milkmobs-cluster-embeddings": "rate(1 hour)",
        "milkmobs-sweep-stuck-videos": "rate(15 minutes)",
    }


def test_timed_out_or_aborted_executions_are_recorded_on_their_video(synth: Synth) -> None:
    (rule,) = [r for r in synth.resources("AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail"]["status"] == ["TIMED_OUT", "ABORTED"]
    (machine_id,) = synth.resources("AWS::StepFunctions::StateMachine")
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": machine_id}]
    (target,) = rule["Properties"]["Targets"]
    function = synth.template["Resources"][target["Arn"]["Fn::GetAtt"][0]]
    assert function["Properties"]["FunctionName"] == "milkmobs-analysis-mark-failed"
    # the execution is named by the video id: its name is the catch's videoId
    assert '"videoId":<detail-name>' in json.dumps(target["InputTransformer"]).replace(" ", "").replace("\\", "")


def test_dashboard_has_the_seed_widgets(synth: Synth) -> None:
    (dashboard,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "MilkMobsSystemHealth"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in (
        "Analysis Lambda Invocations",
        "Analysis Lambda Errors",
        "Lambda Duration",
        "Step Functions Executions",
        "Step Functions Execution Time",
        "DynamoDB Read/Write Capacity",
        "S3 Bucket Size",
        "API Gateway Requests",
        "Bedrock Usage (TwelveLabs)",
        "Bedrock Token Usage",
    ):
        assert title in body, title
    for metric in ("BedrockInvocations", "BedrockInputTokens", "BedrockOutputTokens"):
        assert metric in body and "MilkMobs/Bedrock" in body


def test_the_four_alarms_notify_the_topic(synth: Synth, template: Any) -> None:
    every_alarm = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()]
    alarms = {a["AlarmName"]: a for a in every_alarm if "AlarmName" in a}
    sfn = alarms["StepFunctionsHighFailureRate"]
    assert sfn["Threshold"] == 5 and sfn["ComparisonOperator"] == "GreaterThanThreshold"
    assert "100 * failed / started" in json.dumps(sfn["Metrics"])
    for name in ("AnalysisPegasusErrors", "AnalysisMarengoErrors"):
        assert alarms[name]["MetricName"] == "Errors" and alarms[name]["Threshold"] == 1
    (composite,) = synth.resources("AWS::CloudWatch::CompositeAlarm").values()
    assert composite["Properties"]["AlarmName"] == "LambdaHighErrorRate"
    per_function = [a for a in every_alarm if "100 * errors / invocations" in json.dumps(a.get("Metrics", ""))]
    assert len(per_function) == len(FUNCTION_SPECS) and all(a["Threshold"] == 10 for a in per_function)
    (topic_id,) = synth.resources("AWS::SNS::Topic")
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": ALARM_EMAIL})
    for alarm in [sfn, alarms["AnalysisPegasusErrors"], alarms["AnalysisMarengoErrors"], composite["Properties"]]:
        assert {"Ref": topic_id} in alarm["AlarmActions"]
