"""Delivery: the CloudFront distribution that serves the web pages, and videos and thumbnails from the
private media bucket.

Pages are the default behavior (``/``, ``/admin/``, their modules and ``config.json``), from the
pages' own bucket; the media keys (``vid_*``, ``thumbnails/*``) go to the media bucket. Nothing else
of the media bucket (Marengo's job output) is reachable through the distribution.

The seed names an Origin Access Identity (OAI). We use Origin Access Control (OAC) instead:
it is AWS's current recommendation, signs every origin request with SigV4, supports SSE-KMS
and all regions, and the bucket policy names the distribution rather than a legacy identity.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from milkmobs_infra.function_specs import THUMBNAIL_KEYS

#: The media URLs the API hands out (docs/data-model.md): videos vid_<id>.mp4 and thumbnails/<id>.jpg.
MEDIA_PATHS = ("vid_*", THUMBNAIL_KEYS)


class MediaDistribution(Construct):
    """CloudFront in front of the pages and the media bucket: HTTPS only, compressed, CachingOptimized."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        log_bucket: s3.IBucket,
        cors_origins: Sequence[str],
        pages_bucket: s3.IBucket,
        folder_index: cloudfront.IFunction,
        pages_headers: cloudfront.IResponseHeadersPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        # Players on the configured origins may fetch media cross-origin; "*" uses AWS's managed policy.
        cors: cloudfront.IResponseHeadersPolicy = (
            cloudfront.ResponseHeadersPolicy.CORS_ALLOW_ALL_ORIGINS_WITH_PREFLIGHT
            if "*" in cors_origins
            else cloudfront.ResponseHeadersPolicy(
                self,
                "MediaCors",
                comment="milkmobs media: CORS for the configured origins",
                cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                    access_control_allow_origins=list(cors_origins),
                    access_control_allow_methods=["GET", "HEAD", "OPTIONS"],
                    access_control_allow_headers=["*"],
                    access_control_allow_credentials=False,
                    origin_override=True,
                ),
            )
        )
        media = cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(
                bucket, origin_access_levels=[cloudfront.AccessLevel.READ]
            ),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            compress=True,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
            response_headers_policy=cors,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "VideoDistribution",
            comment="milkmobs pages and video delivery",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    pages_bucket, origin_access_levels=[cloudfront.AccessLevel.READ]
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                compress=True,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                response_headers_policy=pages_headers,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=folder_index, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            additional_behaviors={path: media for path in MEDIA_PATHS},
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        )

    @property
    def domain_name(self) -> str:
        """``dxxxx.cloudfront.net``: what ``MILKMOBS_AWS__CLOUDFRONT_DOMAIN`` is set to."""
        return self.distribution.distribution_domain_name

    @property
    def site_origin(self) -> str:
        """``https://dxxxx.cloudfront.net``: where the pages are, the one origin the API admits."""
        return f"https://{self.distribution.distribution_domain_name}"
