"""Clustering use cases: incremental (one video) and batch (every validated video).

The math lives in ``core/clustering.py``; this module talks to the stores.

Every write to a mob is a versioned read-modify-write (``MobStore.save(expected_version=…)``,
retried with a fresh read on a version conflict: ``core/optimistic.py``), counts included, so
concurrent joins, leaves and re-clusterings never lose an update. A mob whose last member left
keeps its id with ``videoCount`` 0 (hidden from the mob list) until the next batch run removes it:
deleting it at once would race with a video joining it at the same moment.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from milkmobs.core.clustering import (
    KMeansResult,
    describe_mob,
    match_clusters,
    nearest_centroid,
    running_mean_centroid,
    spherical_kmeans,
)
from milkmobs.core.clustering import choose_k as default_k
from milkmobs.core.config import CoreConfig
from milkmobs.core.optimistic import ATTEMPTS, read_change_save, update_video
from milkmobs.core.ports_bundle import CorePorts
from milkmobs.core.views import ClusteringReport, MobReconciliation
from milkmobs.domain import (
    MAX_PAGE_SIZE,
    ConflictError,
    Mob,
    NotFoundError,
    Vector,
    Video,
    VideoStatus,
    normalize_hashtag,
)
from milkmobs.ports import IndexedVector

#: Rows scored against the centroids at once when assigning past the k-means sample.
_ASSIGN_BATCH = 65_536


def _campaign_tags(config: CoreConfig) -> set[str]:
    return {normalize_hashtag(t) for t in config.campaign.tags}


def _save_mob(ports: CorePorts, mob_id: str, change: Callable[[Mob], Mob], first: Mob | None = None) -> Mob:
    """Apply ``change`` to the stored mob and save it guarded by its version; re-read and retry on a
    clash. NotFoundError if the mob is gone."""
    return read_change_save(
        lambda: ports.mobs.get(mob_id),
        change,
        lambda read, changed: ports.mobs.save(changed, expected_version=read.version),
        what=f"mob {mob_id}",
        first=first,
    ).record


def join_mob(ports: CorePorts, mob: Mob, vector: Vector) -> Mob:
    """Add one member: running-mean centroid (unit length) and count + 1."""
    now = ports.clock.now()

    def add(current: Mob) -> Mob:
        centroid = running_mean_centroid(current.centroid, current.video_count, vector)
        return current.with_members(current.video_count + 1, centroid, at=now)

    return _save_mob(ports, mob.mob_id, add, first=mob)


def leave_mob(ports: CorePorts, mob_id: str, vector: Vector | None = None) -> Mob | None:
    """Remove one member: count − 1 and, when its vector is known, the centroid without it.
    None if the mob no longer exists."""
    now = ports.clock.now()

    def remove(current: Mob) -> Mob:
        count = max(0, current.video_count - 1)
        centroid = current.centroid
        if vector is not None and count > 0:
            total = current.centroid.astype(np.float64) * current.video_count - vector.astype(np.float64)
            norm = float(np.linalg.norm(total))
            if norm > 1e-6:  # otherwise the remaining members cancel out: keep the old direction
                centroid = (total / norm).astype(np.float32)
        return current.with_members(count, centroid, at=now)

    try:
        return _save_mob(ports, mob_id, remove)
    except NotFoundError:
        return None


#: Founding mob ids are derived from the founder's video id in this namespace (see ``founding_mob_id``).
_FOUNDING_NAMESPACE = uuid.UUID("6f1c2a8e-5b1d-4f3a-9e57-2d0c8b4a7e11")


def founding_mob_id(video_id: str) -> str:
    """The id of the mob ``video_id`` founds. The founding write thus names its first member: a
    founding interrupted before the video pointed at its mob is found again (and adopted) when the
    step is retried, instead of leaving a memberless mob and founding a second one."""
    return uuid.uuid5(_FOUNDING_NAMESPACE, video_id).hex


def found_mob(ports: CorePorts, config: CoreConfig, video: Video, vector: Vector) -> Mob:
    """A new mob of one member, named from the video's hashtags, actions and scenes. If this video
    already founded it (a retried step), that mob is returned as it is."""
    insights = video.insights
    name, description, examples = describe_mob(
        [video.hashtags],
        [insights.actions if insights else []],
        [insights.scenes if insights else []],
        common=_campaign_tags(config),
    )
    mob = Mob.founded(
        founding_mob_id(video.video_id),
        name=name,
        description=description,
        centroid=vector,
        members=1,
        example_hashtags=examples,
        at=ports.clock.now(),
    )
    try:
        ports.mobs.add(mob)
    except ConflictError:
        return ports.mobs.get(mob.mob_id)  # founded by an earlier attempt of this step
    return mob


def assign_to_mob(ports: CorePorts, config: CoreConfig, video: Video, vector: Vector) -> tuple[Mob, bool]:
    """Join the nearest mob if its cosine ≥ the join threshold, else found one; True when this call
    changed the mob (so a failed placement undoes it). A mob this video founded earlier (an
    interrupted attempt) is adopted as it is. O(k·d) compute, one bounded read of the k mobs, O(1)
    writes."""
    own = founding_mob_id(video.video_id)
    for _ in range(ATTEMPTS):
        mobs = ports.mobs.list_all()
        for mob in mobs:
            if mob.mob_id == own:
                return mob, False
        index, similarity = -1, float("-inf")
        if mobs:
            index, similarity = nearest_centroid(vector, np.stack([m.centroid for m in mobs]))
        if index < 0 or similarity < config.cluster_join_threshold:
            return found_mob(ports, config, video, vector), True
        try:
            return join_mob(ports, mobs[index], vector), True
        except NotFoundError:
            continue  # removed by a batch run meanwhile: choose again among the current mobs
    raise ConflictError(f"could not place video {video.video_id} in a mob under concurrent changes; try again")


def placeable(video: Video) -> bool:
    """Whether clustering places this video: its stored validation passed, and it is still being
    analysed (processing) or was re-validated (validated, rejected)."""
    return (
        video.status in (VideoStatus.PROCESSING, VideoStatus.VALIDATED, VideoStatus.REJECTED)
        and video.validation is not None
        and video.validation.passed
    )


def cluster_video(ports: CorePorts, config: CoreConfig, video_id: str) -> Mob | None:
    """Place a video whose validation passed in a mob (None for any other video), and make it
    ``validated`` in the same record write: a validated video always has its mob.

    Idempotent: a video already placed keeps its mob (its index row is written again, so an
    interrupted placement is completed). Order: the mob first (join, or found), then the record,
    then the index row — the record is the truth of membership, counts are reconciled from it.
    """
    video = ports.videos.get(video_id)
    if not placeable(video):
        return None
    if video.embedding is None:
        raise ConflictError(f"video {video_id} has no embedding; the analysis must run first", video_id=video_id)
    vector = video.embedding.vector
    if video.status is VideoStatus.VALIDATED and video.mob_id is not None:
        try:
            mob = ports.mobs.get(video.mob_id)
        except NotFoundError:
            pass  # its mob was removed by a batch run: place it again
        else:
            ports.index.upsert(IndexedVector(video_id, vector, VideoStatus.VALIDATED, mob.mob_id))
            return mob
    mob, changed = assign_to_mob(ports, config, video, vector)

    def place(current: Video) -> Video:
        # Another writer saved it since it was read (a thumbnail): place it as long as what the
        # placement rests on (status, mob, a passed validation) is what it was.
        if current.status is not video.status or current.mob_id != video.mob_id or not placeable(current):
            raise ConflictError(
                f"video {video_id} changed (now {current.status.value}) while it was placed in mob {mob.mob_id}",
                video_id=video_id,
            )
        return current.assigned_to(mob.mob_id, at=ports.clock.now())

    try:
        update_video(ports, video_id, place, first=video)
    except (ConflictError, NotFoundError):
        if changed:
            leave_mob(ports, mob.mob_id, vector)  # the video changed meanwhile: undo the count
        raise
    ports.index.upsert(IndexedVector(video_id, vector, VideoStatus.VALIDATED, mob.mob_id))
    return mob


@dataclass
class _Validated:
    """What the batch keeps of every validated video: its id, its mob and its embedding row (about
    2 KB at 512 dimensions), never the whole record; the naming features (hashtags, actions,
    scenes) only for a uniform sample of rows (every row while there are fewer than the sample)."""

    ids: list[str] = field(default_factory=list)
    mob_ids: list[str | None] = field(default_factory=list)
    rows: list[npt.NDArray[np.float32]] = field(default_factory=list)
    features: dict[int, tuple[list[str], list[str], list[str]]] = field(default_factory=dict)
    slots: list[int] = field(default_factory=list)  # reservoir slot -> row whose features it holds

    def matrix(self) -> npt.NDArray[np.float32]:
        return np.stack(self.rows).astype(np.float32, copy=False)

    def keep(self, video: Video, *, sample: int, rng: np.random.Generator) -> None:
        assert video.embedding is not None
        row = len(self.ids)
        self.ids.append(video.video_id)
        self.mob_ids.append(video.mob_id)
        self.rows.append(video.embedding.vector)
        slot = row if row < sample else int(rng.integers(row + 1))  # reservoir sampling (Algorithm R)
        if slot >= sample:
            return
        insights = video.insights
        features = (
            list(video.hashtags),
            list(insights.actions if insights else []),
            list(insights.scenes if insights else []),
        )
        if slot == len(self.slots):
            self.slots.append(row)
        else:
            del self.features[self.slots[slot]]
            self.slots[slot] = row
        self.features[row] = features


def _read_validated(ports: CorePorts, *, sample: int, rng: np.random.Generator) -> _Validated:
    """Stream every validated video with an embedding, page by page."""
    kept = _Validated()
    cursor: str | None = None
    while True:
        page = ports.videos.list_by_status(VideoStatus.VALIDATED, limit=MAX_PAGE_SIZE, cursor=cursor)
        for video in page.items:
            if video.embedding is not None:
                kept.keep(video, sample=sample, rng=rng)
        cursor = page.next_cursor
        if cursor is None:
            return kept


def _fit(matrix: npt.NDArray[np.float32], k: int, config: CoreConfig, rng: np.random.Generator) -> KMeansResult:
    """k-means on every row, or past ``batch_cluster_sample`` rows on a uniform sample: then every
    row is assigned to its nearest centre and each centroid is its members' normalised mean (one
    exact Lloyd step over all rows), so memory and time stay bounded (docs/capacity.md)."""
    n = matrix.shape[0]
    if n <= config.batch_cluster_sample:
        return spherical_kmeans(matrix, k, max_iter=config.batch_cluster_max_iter, seed=config.random_seed)
    picked = np.sort(rng.choice(n, size=config.batch_cluster_sample, replace=False))
    fitted = spherical_kmeans(matrix[picked], k, max_iter=config.batch_cluster_max_iter, seed=config.random_seed)
    labels = np.empty(n, dtype=np.int64)
    for start in range(0, n, _ASSIGN_BATCH):
        block = matrix[start : start + _ASSIGN_BATCH]
        labels[start : start + len(block)] = np.argmax(block @ fitted.centroids.T, axis=1)
    sums = np.zeros_like(fitted.centroids, dtype=np.float64)
    np.add.at(sums, labels, matrix)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centroids = np.where(norms > 0, sums / np.where(norms > 0, norms, 1.0), fitted.centroids).astype(np.float32)
    return KMeansResult(labels, centroids, fitted.inertia, fitted.iterations)


def recluster(ports: CorePorts, config: CoreConfig) -> ClusteringReport:
    """Batch: spherical k-means over every validated embedding, new clusters matched to old mobs so
    ids stay where members stay; mobs rewritten (centroid, count, name), videos moved (record, then
    index rows), mobs that lost every member deleted, and counts reconciled from the members — in
    that order, so no video ever points at a missing mob.

    Restartable: a run interrupted anywhere leaves records that point at existing mobs; the next run
    (or the start-up recovery) rewrites every index row from the records and every count from the
    members, and removes mobs left without members.

    Holds the id, the mob and the embedding row of each video, not the records (about 4 KiB a
    video at peak; docs/capacity.md), and past ``batch_cluster_sample`` videos fits k-means on a
    sample (``_fit``)."""
    rng = np.random.default_rng(config.random_seed)
    kept_rows = _read_validated(ports, sample=config.batch_cluster_sample, rng=rng)
    old_mobs = {m.mob_id: m for m in ports.mobs.list_all()}
    old_members: dict[str, set[str]] = {mob_id: set() for mob_id in old_mobs}
    for video_id, mob_id in zip(kept_rows.ids, kept_rows.mob_ids, strict=True):
        if mob_id in old_members:
            old_members[mob_id].add(video_id)
    if not kept_rows.ids:
        for mob_id in old_mobs:
            ports.mobs.delete(mob_id)
        return ClusteringReport(videos=0, mobs=0, removed_mob_ids=sorted(old_mobs))

    matrix = kept_rows.matrix()
    kept_rows.rows.clear()  # the matrix is the only copy from here on
    # Without a configured k, refine the mobs incremental clustering found (its threshold already
    # says how far apart mobs are); sqrt(n/2) only when there are none yet.
    active = sum(1 for members in old_members.values() if members)
    n = matrix.shape[0]
    k = min(config.batch_cluster_k or active or default_k(n), n)
    result = _fit(matrix, k, config, rng)
    clusters = [np.flatnonzero(result.labels == label) for label in range(result.centroids.shape[0])]
    clusters_kept = [(label, [int(i) for i in rows]) for label, rows in enumerate(clusters) if rows.size > 0]
    members = [{kept_rows.ids[i] for i in rows} for _, rows in clusters_kept]
    previous: dict[str, Collection[str]] = dict(old_members)
    matched = match_clusters(members, previous)

    kept: list[str] = []
    new: list[str] = []
    assignment: list[str] = [""] * n
    now = ports.clock.now()
    for (label, rows), old_id in zip(clusters_kept, matched, strict=True):
        named = [kept_rows.features[i] for i in rows if i in kept_rows.features]
        name, description, examples = describe_mob(
            [f[0] for f in named], [f[1] for f in named], [f[2] for f in named], common=_campaign_tags(config)
        )
        centroid = result.centroids[label].astype(np.float32)
        if old_id is not None:

            def rewrite(
                current: Mob,
                name: str = name,
                description: str = description,
                centroid: Vector = centroid,
                count: int = len(rows),
                examples: list[str] = examples,
            ) -> Mob:
                return current.regrouped(
                    name=name,
                    description=description,
                    centroid=centroid,
                    count=count,
                    example_hashtags=examples,
                    at=now,
                )

            _save_mob(ports, old_id, rewrite, first=old_mobs[old_id])
            kept.append(old_id)
            mob_id = old_id
        else:
            mob_id = ports.ids.new_id()
            mob = Mob.founded(
                mob_id,
                name=name,
                description=description,
                centroid=centroid,
                members=len(rows),
                example_hashtags=examples,
                at=now,
            )
            ports.mobs.add(mob)
            new.append(mob_id)
        for i in rows:
            assignment[i] = mob_id

    index_rows: list[IndexedVector] = []
    for i, target in enumerate(assignment):
        video_id = kept_rows.ids[i]
        if kept_rows.mob_ids[i] != target:
            # Only moved videos are read again, one at a time.
            def move(video: Video, was: str | None = kept_rows.mob_ids[i], target: str = target) -> Video:
                if video.status is not VideoStatus.VALIDATED or video.mob_id != was:
                    raise ConflictError(f"video {video.video_id} left mob {was} meanwhile", video_id=video.video_id)
                return video.assigned_to(target, at=now)

            try:
                update_video(ports, video_id, move)
            except (ConflictError, NotFoundError):
                continue  # changed or deleted meanwhile; the next run places it
        # Every row, moved or not: a run interrupted between a record and its row left it stale.
        index_rows.append(IndexedVector(video_id, matrix[i], VideoStatus.VALIDATED, target))
        if len(index_rows) == MAX_PAGE_SIZE:
            ports.index.upsert_many(index_rows)
            index_rows = []
    if index_rows:
        ports.index.upsert_many(index_rows)

    removed = sorted(set(old_mobs) - set(kept))
    for mob_id in removed:
        with contextlib.suppress(NotFoundError):
            ports.mobs.delete(mob_id)
    # Counts were written for the planned membership; videos that changed meanwhile stayed put.
    reconcile_mobs(ports, [*kept, *new])
    return ClusteringReport(
        videos=n,
        mobs=len(clusters_kept),
        kept_mob_ids=sorted(kept),
        new_mob_ids=sorted(new),
        removed_mob_ids=removed,
        inertia=result.inertia,
        iterations=result.iterations,
    )


def mob_members(ports: CorePorts, mob_id: str) -> list[Video]:
    """The validated videos whose record points at ``mob_id`` (the truth of membership)."""
    members: list[Video] = []
    cursor: str | None = None
    while True:
        page = ports.videos.list_by_mob(mob_id, limit=MAX_PAGE_SIZE, cursor=cursor)
        members.extend(v for v in page.items if v.status is VideoStatus.VALIDATED)
        cursor = page.next_cursor
        if cursor is None:
            return members


def reconcile_mobs(
    ports: CorePorts, mob_ids: Collection[str] | None = None, *, remove_empty: bool = False
) -> MobReconciliation:
    """Make each mob's count (and, where it was off, its centroid) agree with its members; with
    ``remove_empty`` also delete mobs that have none. Counts are deltas applied after the record
    writes, so an interrupted step or batch run can leave them off; this repairs them. Meant for
    when nothing else places videos (start-up recovery; the end of a batch run, for its own mobs):
    a mob written by someone else between its read and its recount is left as it is (the write is
    guarded by the version read first), for the next run. O(members) reads per mob."""
    wanted = None if mob_ids is None else set(mob_ids)
    targets = [m for m in ports.mobs.list_all() if wanted is None or m.mob_id in wanted]
    recounted: list[str] = []
    removed: list[str] = []
    for mob in targets:
        members = mob_members(ports, mob.mob_id)
        vectors = [v.embedding.vector for v in members if v.embedding is not None]
        if not members and remove_empty:
            with contextlib.suppress(NotFoundError):
                ports.mobs.delete(mob.mob_id)
            removed.append(mob.mob_id)
            continue
        if len(members) == mob.video_count:
            continue
        centroid = mob.centroid
        if vectors:
            total = np.sum(np.stack(vectors).astype(np.float64), axis=0)
            norm = float(np.linalg.norm(total))
            if norm > 1e-6:
                centroid = (total / norm).astype(np.float32)

        try:  # one guarded attempt: a retry would apply a count read before someone else's change
            ports.mobs.save(mob.with_members(len(members), centroid), expected_version=mob.version)
        except (ConflictError, NotFoundError):
            continue
        recounted.append(mob.mob_id)
    return MobReconciliation(recounted=sorted(recounted), removed=sorted(removed))
