"""Web: the pages shipped in the package (consumer app at ``/``, admin dashboard at ``/admin/``),
published from a private bucket of their own behind the media distribution.

The files are the ones ``milkmobs serve`` serves (``milkmobs/web``), with the ``config.json`` the
pages read written next to them: the API's URL and, for the admin sign-in, the Cognito hosted UI's
domain and app client id. Same shape as the local server's (``milkmobs.server.static.config_for``).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from milkmobs.server.static import IMMUTABLE, PAGE_HEADERS, REVALIDATE, WEB_ROOT, config_for
from milkmobs_infra.storage import private_bucket

#: Versioned third-party files (their version is in the name): cached for a year, as ``serve`` does.
VENDOR_PREFIX = "vendor/"
#: Type declarations sit beside the served files for the type checks only.
NOT_SERVED = ["*.d.ts", "**/*.d.ts"]

# Folder URLs answer their index.html (an S3 origin has no index documents); "/admin" gets its slash,
# so the dashboard's relative imports resolve under /admin/.
FOLDER_INDEX_FUNCTION = """
function handler(event) {
  var request = event.request;
  if (request.uri === '/admin') {
    return { statusCode: 308, statusDescription: 'Permanent Redirect', headers: { location: { value: '/admin/' } } };
  }
  if (request.uri.endsWith('/')) {
    request.uri += 'index.html';
  }
  return request;
}
"""


class WebSite(Construct):
    """The pages' bucket and the viewer-request function the distribution's page behavior uses."""

    def __init__(
        self, scope: Construct, construct_id: str, *, log_bucket: s3.IBucket, removal_policy: cdk.RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = private_bucket(
            self,
            "PagesBucket",
            removal_policy=removal_policy,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix="s3/pages/",
        )
        # The same Content-Security-Policy and Referrer-Policy as `milkmobs serve` sends with its pages.
        served = dict(PAGE_HEADERS)
        referrer = cloudfront.HeadersReferrerPolicy[served["Referrer-Policy"].upper().replace("-", "_")]
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "PageHeaders",
            comment="milkmobs pages: CSP, no sniffing, no framing, HTTPS only",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=served["Content-Security-Policy"], override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=referrer,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(365), include_subdomains=True, override=True
                ),
            ),
        )
        self.folder_index = cloudfront.Function(
            self,
            "FolderIndex",
            code=cloudfront.FunctionCode.from_inline(FOLDER_INDEX_FUNCTION),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="milkmobs pages: folder URLs answer their index.html",
        )

    def publish(
        self,
        *,
        distribution: cloudfront.IDistribution,
        api_url: str,
        cognito_domain: str,
        cognito_client_id: str,
    ) -> None:
        """Copy the pages and their ``config.json`` to the bucket, then invalidate the distribution."""
        config = config_for(api_url, cognito_domain=cognito_domain, cognito_client_id=cognito_client_id)
        self.pages = s3deploy.BucketDeployment(
            self,
            "Pages",
            sources=[
                s3deploy.Source.asset(str(WEB_ROOT), exclude=[*NOT_SERVED, f"{VENDOR_PREFIX}*"]),
                s3deploy.Source.json_data("config.json", config),
            ],
            destination_bucket=self.bucket,
            exclude=[f"{VENDOR_PREFIX}*"],  # the vendor deployment's files: neither copied nor pruned here
            cache_control=[s3deploy.CacheControl.from_string(REVALIDATE)],
            distribution=distribution,
            distribution_paths=["/*"],
            memory_limit=256,
        )
        self.vendor = s3deploy.BucketDeployment(
            self,
            "Vendor",
            sources=[s3deploy.Source.asset(str(WEB_ROOT / VENDOR_PREFIX), exclude=NOT_SERVED)],
            destination_bucket=self.bucket,
            destination_key_prefix=VENDOR_PREFIX,
            cache_control=[s3deploy.CacheControl.from_string(IMMUTABLE)],
            memory_limit=256,
        )
