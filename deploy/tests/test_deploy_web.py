"""The web pages on AWS: published from their own bucket behind the distribution, with config.json;
the API admits that origin only; the admin dashboard signs in through Cognito's hosted UI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from deploy_support import CORS_ORIGIN, Synth, resolve
from milkmobs_infra.web import FOLDER_INDEX_FUNCTION

from milkmobs.api.auth import ADMIN_GROUP
from milkmobs.server.static import PAGE_HEADERS, WEB_ROOT, config_for

DOMAIN = "d111111abcdef8.cloudfront.net"
SITE = f"https://{DOMAIN}"


def _one(synth: Synth, resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = synth.resources(resource_type).items()
    return logical_id, resource["Properties"]


def _refs(synth: Synth) -> dict[str, str]:
    """Stand-in values for the ids the pages' config and CORS are made of."""
    distribution, _ = _one(synth, "AWS::CloudFront::Distribution")
    api, _ = _one(synth, "AWS::ApiGateway::RestApi")
    stage, _ = _one(synth, "AWS::ApiGateway::Stage")
    domain, _ = _one(synth, "AWS::Cognito::UserPoolDomain")
    client, _ = _one(synth, "AWS::Cognito::UserPoolClient")
    return {f"{distribution}.DomainName": DOMAIN, api: "a1b2c3", stage: "prod", domain: "milkmobs-admin-1234",
            client: "client-id-1"}  # fmt: skip


def _deployments(synth: Synth) -> dict[str, dict[str, Any]]:
    """The two publishing custom resources: 'pages' (invalidates the distribution) and 'vendor'."""
    found = [r["Properties"] for r in synth.resources("Custom::CDKBucketDeployment").values()]
    return {("pages" if "DistributionId" in props else "vendor"): props for props in found}


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_the_distribution_serves_the_pages_by_default_and_only_the_media_keys_from_the_media_bucket(
    synth: Synth,
) -> None:
    _, props = _one(synth, "AWS::CloudFront::Distribution")
    config = props["DistributionConfig"]
    origins = {o["Id"]: o["DomainName"]["Fn::GetAtt"][0] for o in config["Origins"]}
    pages_bucket, _ = next((k, v) for k, v in synth.resources("AWS::S3::Bucket").items() if "PagesBucket" in k)
    default = config["DefaultCacheBehavior"]
    assert origins[default["TargetOriginId"]] == pages_bucket
    assert default["AllowedMethods"] == ["GET", "HEAD"] and default["ViewerProtocolPolicy"] == "redirect-to-https"
    (association,) = default["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    media = {b["PathPattern"]: origins[b["TargetOriginId"]] for b in config["CacheBehaviors"]}
    assert set(media) == {"vid_*", "thumbnails/*"}  # Marengo's output (embeddings/*) is not published
    assert len(set(media.values())) == 1 and pages_bucket not in media.values()
    assert all("OriginAccessControlId" in o for o in config["Origins"])


def test_the_pages_bucket_is_private_and_read_by_the_distribution_only(synth: Synth) -> None:
    pages_bucket, bucket = next((k, v) for k, v in synth.resources("AWS::S3::Bucket").items() if "PagesBucket" in k)
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert "BucketEncryption" in props and "LoggingConfiguration" in props
    (policy,) = [p["Properties"] for p in synth.resources("AWS::S3::BucketPolicy").values()
                 if p["Properties"]["Bucket"] == {"Ref": pages_bucket}]  # fmt: skip
    distribution, _ = _one(synth, "AWS::CloudFront::Distribution")
    cloudfront = [s for s in policy["PolicyDocument"]["Statement"]
                  if s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudfront.amazonaws.com"}]  # fmt: skip
    assert cloudfront and all(s["Action"] == "s3:GetObject" for s in cloudfront)
    assert all(distribution in json.dumps(s["Condition"]) for s in cloudfront)  # this distribution only


def test_every_served_web_file_is_published_and_nothing_else(synth: Synth) -> None:
    deployments = _deployments(synth)
    pages_keys = deployments["pages"]["SourceObjectKeys"]
    (vendor_key,) = deployments["vendor"]["SourceObjectKeys"]
    served = {name for name in _files(WEB_ROOT) if not name.endswith(".d.ts")}
    published = set().union(*(_files(synth.outdir / f"asset.{k.removesuffix('.zip')}") for k in pages_keys))
    vendor = {f"vendor/{name}" for name in _files(synth.outdir / f"asset.{vendor_key.removesuffix('.zip')}")}
    assert published | vendor == served | {"config.json"}
    assert {"index.html", "admin/index.html", "admin/main.js", "shared/api.js"} <= published
    assert vendor and not published & vendor
    assert deployments["pages"]["Exclude"] == ["vendor/*"]  # the pages' prune leaves the vendor files
    assert deployments["vendor"]["DestinationBucketKeyPrefix"] == "vendor/"
    assert deployments["pages"]["SystemMetadata"] == {"cache-control": "no-cache"}
    assert deployments["vendor"]["SystemMetadata"] == {"cache-control": "public, max-age=31536000, immutable"}
    assert deployments["pages"]["DistributionPaths"] == ["/*"]  # a publish is visible at once


def test_config_json_names_the_api_and_the_hosted_sign_in_in_the_local_server_s_shape(synth: Synth) -> None:
    pages = _deployments(synth)["pages"]
    refs = _refs(synth)
    for key, markers in zip(pages["SourceObjectKeys"], pages["SourceMarkers"], strict=True):
        folder = synth.outdir / f"asset.{key.removesuffix('.zip')}"
        if (folder / "config.json").is_file():
            text = (folder / "config.json").read_text()
            for marker, value in markers.items():
                text = text.replace(marker, str(resolve(value, refs)))
            config = json.loads(text)
            break
    else:
        raise AssertionError("no config.json among the published sources")
    assert config == {
        "apiUrl": "https://a1b2c3.execute-api.us-east-1.amazonaws.com/prod/",
        "cognitoDomain": "https://milkmobs-admin-1234.auth.us-east-1.amazoncognito.com",
        "cognitoClientId": "client-id-1",
    }
    assert set(config) == set(config_for("x", cognito_domain="d", cognito_client_id="c"))
    assert set(config_for("x")) == {"apiUrl"}  # what `milkmobs serve` answers: the token sign-in


def test_the_api_admits_the_pages_origin_only(synth: Synth) -> None:
    refs = _refs(synth)
    options = [m["Properties"] for m in synth.resources("AWS::ApiGateway::Method").values()
               if m["Properties"]["HttpMethod"] == "OPTIONS"]  # fmt: skip
    assert options
    for props in options:
        headers = props["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert resolve(headers["method.response.header.Access-Control-Allow-Origin"], refs) == f"'{SITE}'"
    for response in synth.resources("AWS::ApiGateway::GatewayResponse").values():
        origin = response["Properties"]["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
        assert resolve(origin, refs) == f"'{SITE}'"
    api_functions = [
        f["Properties"] for f in synth.resources("AWS::Lambda::Function").values()
        if "MILKMOBS_HTTP__CORS_ORIGINS" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]  # fmt: skip
    assert len(api_functions) >= 10
    for props in api_functions:
        assert json.loads(resolve(props["Environment"]["Variables"]["MILKMOBS_HTTP__CORS_ORIGINS"], refs)) == [SITE]


def test_uploads_from_the_published_page_reach_the_bucket(synth: Synth) -> None:
    media = next(v for k, v in synth.resources("AWS::S3::Bucket").items() if "UploadsBucket" in k)
    (rule,) = media["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == [CORS_ORIGIN, "https://*.cloudfront.net"]


def test_the_dashboard_signs_in_with_the_hosted_ui_code_flow(synth: Synth) -> None:
    refs = _refs(synth)
    _, client = _one(synth, "AWS::Cognito::UserPoolClient")
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthScopes"] == ["openid", "email"] and client["GenerateSecret"] is False
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert [resolve(u, refs) for u in client["CallbackURLs"]] == [f"{SITE}/admin/"]
    assert [resolve(u, refs) for u in client["LogoutURLs"]] == [f"{SITE}/admin/"]
    _, domain = _one(synth, "AWS::Cognito::UserPoolDomain")
    assert re.fullmatch(r"milkmobs-admin-123456789012", resolve(domain["Domain"], {}))
    (group,) = [g["Properties"] for g in synth.resources("AWS::Cognito::UserPoolGroup").values()]
    assert group["GroupName"] == ADMIN_GROUP == "admins"


def test_folder_urls_answer_their_index_page() -> None:
    """The viewer-request function, run by Node as CloudFront runs it (cloudfront-js-2.0 is ES5.1+)."""
    node = shutil.which("node")
    assert node, "Node.js is needed (the CDK itself runs on it)"
    uris = ["/", "/admin", "/admin/", "/shared/api.js", "/vid_1.mp4", "/admin/main.js"]
    script = FOLDER_INDEX_FUNCTION + f"\nconsole.log(JSON.stringify({json.dumps(uris)}.map(" \
        "u => handler({request: {uri: u}}))));"  # fmt: skip
    answers = json.loads(subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout)
    assert [a.get("uri") for a in answers] == [
        "/index.html", None, "/admin/index.html", "/shared/api.js", "/vid_1.mp4", "/admin/main.js",
    ]  # fmt: skip
    assert answers[1]["statusCode"] == 308 and answers[1]["headers"]["location"]["value"] == "/admin/"


def test_the_pages_carry_the_same_security_headers_as_on_serve(synth: Synth) -> None:
    _, props = _one(synth, "AWS::CloudFront::Distribution")
    default = props["DistributionConfig"]["DefaultCacheBehavior"]
    policies = synth.resources("AWS::CloudFront::ResponseHeadersPolicy")
    pages = policies[default["ResponseHeadersPolicyId"]["Ref"]]["Properties"]["ResponseHeadersPolicyConfig"]
    security = pages["SecurityHeadersConfig"]
    served = dict(PAGE_HEADERS)
    assert security["ContentSecurityPolicy"] == {
        "ContentSecurityPolicy": served["Content-Security-Policy"], "Override": True,
    }  # fmt: skip
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == served["Referrer-Policy"] == "same-origin"
    assert security["FrameOptions"]["FrameOption"] == "DENY" and security["ContentTypeOptions"]["Override"] is True
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == 365 * 86400
