"""The S3 media store, plus a CloudFront invalidation of each deleted key's path.

CloudFront serves every media URL and caches objects for up to a day (CachingOptimized): a
deleted video would keep playing from the edges until then. Invalidating its path on delete makes
the deletion visible within minutes. The distribution is looked up at the delete, not before: only
the functions that delete media are given one (a function that only reads media never needs it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws.errors import common_translation, transport_error
from milkmobs.adapters.aws.s3_media import S3MediaStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: The CloudFront client and the distribution id, or None where no distribution is configured.
Distribution = Callable[[], "tuple[Any, str] | None"]


class InvalidatingMediaStore(S3MediaStore):
    """``S3MediaStore`` whose ``delete`` also invalidates the key's path in ``distribution()``'s
    distribution, if there is one; everything else is the S3 store's."""

    def __init__(self, client: S3Client, bucket: str, *, distribution: Distribution, **options: Any) -> None:
        super().__init__(client, bucket, **options)
        self._distribution = distribution

    def delete(self, key: str) -> None:
        super().delete(key)
        found = self._distribution()
        if found is None:
            return
        cloudfront, distribution_id = found
        try:
            cloudfront.create_invalidation(
                DistributionId=distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": 1, "Items": ["/" + key]},
                    "CallerReference": f"{key}-{time.time_ns()}",
                },
            )
        except ClientError as exc:
            raise common_translation(exc, doing=f"invalidating CloudFront's copy of {key}") from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing=f"invalidating CloudFront's copy of {key}") from exc
