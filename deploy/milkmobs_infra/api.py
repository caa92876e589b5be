"""API: the REST API of the contract in ARCHITECTURE.md, with admin routes behind Cognito.

Admin authorisation is a Cognito user pool authorizer at the gateway (a valid token of this
stack's pool) plus membership of the ``admins`` group, which the admin functions check from the
``cognito:groups`` claim the authorizer passes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from pydantic import BaseModel

from milkmobs.api.auth import ADMIN_GROUP
from milkmobs.core.views import SubmitRequest
from milkmobs_infra._util import retention
from milkmobs_infra.function_specs import FUNCTION_SPECS, Route

# Every route, from the functions' declarations.
ROUTES: tuple[Route, ...] = tuple(route for spec in FUNCTION_SPECS for route in spec.api_routes)

# POST /validate takes {"videoId": "..."}; the gateway rejects anything else before a Lambda runs.
VALIDATE_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["videoId"],
    "properties": {"videoId": {"type": "string", "minLength": 1, "maxLength": 200}},
}


def gateway_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A draft-4 JSON schema API Gateway accepts, derived from the pydantic request model.

    Only what the gateway can check cheaply (types, lengths, counts, required keys) is kept; the
    application still validates everything and names the field in its error.
    """
    source = model.model_json_schema(by_alias=True)
    properties: dict[str, Any] = {}
    for name, prop in source.get("properties", {}).items():
        properties[name] = _simple(prop)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if source.get("required"):
        schema["required"] = list(source["required"])
    return schema


_KEPT = ("type", "maxLength", "minLength", "maxItems", "minItems", "minimum", "maximum", "enum")


def _simple(prop: Mapping[str, Any]) -> dict[str, Any]:
    if "anyOf" in prop:  # Optional[X] → {"type": [X, "null"]}
        variants = [_simple(v) for v in prop["anyOf"]]
        types = [v["type"] for v in variants if "type" in v]
        merged: dict[str, Any] = {}
        for v in variants:
            merged.update({k: val for k, val in v.items() if k != "type"})
        merged["type"] = types
        return merged
    out = {k: prop[k] for k in _KEPT if k in prop}
    if "items" in prop:
        out["items"] = _simple(prop["items"])
    return out


class MilkMobsApi(Construct):
    """``MilkMobsApi``: proxy integrations to the functions, validated, throttled, logged."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        cors_origins: Sequence[str],
        admin_page_url: str,
        cognito_domain_prefix: str,
        stage_name: str,
        throttle_rate: float,
        throttle_burst: int,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=retention(log_retention_days), removal_policy=removal_policy
        )
        self.api = apigw.RestApi(
            self,
            "MilkMobsApi",
            rest_api_name="MilkMobsApi",
            description="milkmobs HTTP API (contract: ARCHITECTURE.md)",
            binary_media_types=["multipart/form-data"],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=removal_policy,
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                allow_headers=[*apigw.Cors.DEFAULT_HEADERS, "Authorization"],
            ),
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                throttling_rate_limit=throttle_rate,
                throttling_burst_limit=throttle_burst,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )
        self.user_pool = self._user_pool(removal_policy, admin_page_url, cognito_domain_prefix)
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "AdminAuthorizer", cognito_user_pools=[self.user_pool], authorizer_name="milkmobs-admins"
        )
        self._error_responses(cors_origins)
        # One validator checks both the body (against the method's model) and required parameters.
        self.validator = self.api.add_request_validator(
            "RequestValidator",
            request_validator_name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        self.models = {
            "SubmitRequest": self.api.add_model(
                "SubmitRequestModel",
                content_type="application/json",
                model_name="SubmitRequest",
                schema=_json_schema(gateway_schema(SubmitRequest)),
            ),
            "ValidateRequest": self.api.add_model(
                "ValidateRequestModel",
                content_type="application/json",
                model_name="ValidateRequest",
                schema=_json_schema(VALIDATE_REQUEST_SCHEMA),
            ),
        }
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route in ROUTES:
            self.methods[(route.method, route.path)] = self._add_route(route, functions[route.function])

    def _add_route(self, route: Route, function: lambda_.IFunction) -> apigw.Method:
        resource = self.api.root.resource_for_path(route.path)
        options: dict[str, Any] = {}
        if route.admin:
            options.update(authorizer=self.authorizer, authorization_type=apigw.AuthorizationType.COGNITO)
        if route.body_model:
            options.update(
                request_validator=self.validator, request_models={"application/json": self.models[route.body_model]}
            )
        elif route.required_query:
            options.update(
                request_validator=self.validator,
                request_parameters={f"method.request.querystring.{q}": True for q in route.required_query},
            )
        return resource.add_method(
            route.method, apigw.LambdaIntegration(function, proxy=True, allow_test_invoke=False), **options
        )

    def _user_pool(
        self, removal_policy: cdk.RemovalPolicy, admin_page_url: str, domain_prefix: str
    ) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "AdminUserPool",
            self_sign_up_enabled=False,  # admins are invited, never self-registered
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=removal_policy,
        )
        cognito.CfnUserPoolGroup(
            self,
            "AdminsGroup",
            user_pool_id=pool.user_pool_id,
            group_name=ADMIN_GROUP,
            description="May call the /admin routes",
        )
        # The dashboard signs in through the hosted UI with the authorization code flow: a public client
        # (a browser keeps no secret) that sends a PKCE challenge, checked at the code exchange; the
        # hosted UI sends the browser back to the dashboard only.
        self.client = pool.add_client(
            "AdminDashboardClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[admin_page_url],
                logout_urls=[admin_page_url],
            ),
        )
        self.domain = pool.add_domain(
            "HostedUiDomain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        return pool

    def _error_responses(self, cors_origins: Sequence[str]) -> None:
        """Gateway-made errors in the API's own shape ``{"error": {"code", "message"}}``, with CORS."""
        headers: dict[str, str] = {}
        if len(cors_origins) == 1:  # a gateway response header is static: one origin or '*'
            headers["Access-Control-Allow-Origin"] = f"'{cors_origins[0]}'"
        validation_message = "$context.error.validationErrorString"
        other_message = "$context.error.messageString"
        for construct_id, response_type, code, message in (
            ("BadBody", apigw.ResponseType.BAD_REQUEST_BODY, "invalid_input", validation_message),
            ("BadParameters", apigw.ResponseType.BAD_REQUEST_PARAMETERS, "invalid_input", validation_message),
            ("Unauthorized", apigw.ResponseType.UNAUTHORIZED, "unauthorized", other_message),
            ("AccessDenied", apigw.ResponseType.ACCESS_DENIED, "forbidden", other_message),
            ("Throttled", apigw.ResponseType.THROTTLED, "backend_unavailable", other_message),
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX, "invalid_input", other_message),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX, "internal_error", other_message),
        ):
            self.api.add_gateway_response(
                f"{construct_id}Response",
                type=response_type,
                response_headers=headers or None,
                templates={"application/json": f'{{"error": {{"code": "{code}", "message": {message}}}}}'},
            )

    @property
    def url(self) -> str:
        return self.api.url


def _json_schema(schema: Mapping[str, Any]) -> apigw.JsonSchema:
    def convert(node: Mapping[str, Any]) -> apigw.JsonSchema:
        kwargs: dict[str, Any] = {}
        raw_type = node.get("type")
        if raw_type is not None:
            types = raw_type if isinstance(raw_type, list) else [raw_type]
            mapped = [apigw.JsonSchemaType[t.upper()] for t in types]
            kwargs["type"] = mapped if len(mapped) > 1 else mapped[0]
        for key, arg in (
            ("maxLength", "max_length"),
            ("minLength", "min_length"),
            ("maxItems", "max_items"),
            ("minItems", "min_items"),
            ("minimum", "minimum"),
            ("maximum", "maximum"),
            ("enum", "enum"),
            ("required", "required"),
        ):
            if key in node:
                kwargs[arg] = node[key]
        if "items" in node:
            kwargs["items"] = convert(node["items"])
        if "properties" in node:
            kwargs["properties"] = {k: convert(v) for k, v in node["properties"].items()}
        return (
            apigw.JsonSchema(schema=apigw.JsonSchemaVersion.DRAFT4, **kwargs)
            if "properties" in node
            else apigw.JsonSchema(**kwargs)
        )

    return convert(schema)
