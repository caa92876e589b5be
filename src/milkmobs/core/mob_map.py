"""The mobs map: validated videos' embeddings projected to two dimensions (PCA), coloured by mob.

The projection is computed here, server-side, so the page receives a few numbers per video
instead of 512-1024 floats each. A bounded sample (the newest validated videos) keeps the work
and the answer small whatever the corpus size.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field

from milkmobs.core.ports_bundle import CorePorts
from milkmobs.domain import MAX_PAGE_SIZE, InvalidInputError, Video, VideoStatus
from milkmobs.domain.base import DomainModel

#: Points the map shows by default, and at most.
DEFAULT_MAP_POINTS = 1000
MAX_MAP_POINTS = 5000


class MapPoint(DomainModel):
    video_id: str
    mob_id: str | None = Field(description="The video's mob; null while it is not yet clustered")
    title: str
    x: float
    y: float


class MobMap(DomainModel):
    """The sample's points, and how much of the embeddings' spread the two axes keep."""

    points: list[MapPoint] = Field(default_factory=list)
    sampled: int = Field(description="Videos in the sample (the newest validated ones with an embedding)")
    validated_total: int = Field(description="Validated videos in the store")
    explained_variance: list[float] = Field(
        default_factory=list, description="Share of the sample's variance along x and along y, each in [0, 1]"
    )


def project_2d(vectors: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float64], list[float]]:
    """Rows projected on their first two principal components, and each axis's share of the variance.

    The signs of the axes are fixed (the largest loading of each component is positive), so the
    same data draws the same picture on every call. Fewer than two distinct rows project to 0.
    """
    n = vectors.shape[0]
    coords = np.zeros((n, 2), dtype=np.float64)
    if n < 2:
        return coords, [0.0, 0.0]
    centred = vectors.astype(np.float64) - vectors.mean(axis=0, dtype=np.float64)
    # Thin SVD of the n × d centred data: rows of vt are the principal directions.
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(singular**2))
    if total <= 0.0:
        return coords, [0.0, 0.0]
    axes = min(2, vt.shape[0])
    components = vt[:axes]
    flip = np.sign(components[np.arange(axes), np.argmax(np.abs(components), axis=1)])
    components = components * flip[:, None]
    coords[:, :axes] = centred @ components.T
    shares = [float(singular[i] ** 2 / total) if i < axes else 0.0 for i in range(2)]
    return coords, shares


def mob_map(ports: CorePorts, *, limit: int = DEFAULT_MAP_POINTS) -> MobMap:
    """The newest ``limit`` validated videos with an embedding, projected to 2-D."""
    if not 1 <= limit <= MAX_MAP_POINTS:
        raise InvalidInputError(f"limit must be between 1 and {MAX_MAP_POINTS}, got {limit}", field="limit")
    sample = _newest_validated(ports, limit)
    total = ports.videos.stats().by_status.get(VideoStatus.VALIDATED.value, 0)
    if not sample:
        return MobMap(sampled=0, validated_total=total)
    vectors = np.stack([video.embedding.vector for video in sample if video.embedding is not None])
    coords, shares = project_2d(vectors)
    points = [
        MapPoint(video_id=v.video_id, mob_id=v.mob_id, title=v.title, x=round(float(x), 6), y=round(float(y), 6))
        for v, (x, y) in zip(sample, coords, strict=True)
    ]
    return MobMap(points=points, sampled=len(points), validated_total=total, explained_variance=shares)


def _newest_validated(ports: CorePorts, limit: int) -> list[Video]:
    # Only vectors of the index's dimension can share one projection (a store may outlive a model change).
    dimension = ports.index.dimension
    videos: list[Video] = []
    cursor: str | None = None
    while len(videos) < limit:
        page = ports.videos.list_by_status(
            VideoStatus.VALIDATED, limit=min(MAX_PAGE_SIZE, limit - len(videos)), cursor=cursor
        )
        videos.extend(v for v in page.items if v.embedding is not None and v.embedding.vector.size == dimension)
        cursor = page.next_cursor
        if cursor is None:
            break
    return videos[:limit]
