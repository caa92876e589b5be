"""Similar-video search never returns the query, and its scores are true cosines, best first."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.core_support import DIMENSION, OFF_TOPIC_BYTES, make_app, put_validated, unit, upload

from milkmobs.domain import VideoStatus


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=1, max_value=15),
    st.integers(min_value=0, max_value=2**16),
    st.integers(min_value=1, max_value=20),
    st.booleans(),
)
def test_similar_search_excludes_the_query_and_sorts_cosines(n, seed, limit, duplicates) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    vectors = [unit(rng.standard_normal(DIMENSION)) for _ in range(n)]
    if duplicates:
        vectors += vectors[:2]  # identical vectors must not hide the query's exclusion
    with make_app() as app:
        ids = [put_validated(app, v, place=True) for v in vectors]
        upload(app, data=OFF_TOPIC_BYTES)  # a rejected neighbour never shows up
        by_id = dict(zip(ids, vectors, strict=True))
        for query in ids:
            results = app.similar_videos(query, limit=limit).results
            got = [r.video.video_id for r in results]
            assert query not in got and len(got) == len(set(got)) == min(limit, len(ids) - 1)
            scores = [r.score for r in results]
            assert scores == sorted(scores, reverse=True)
            for r in results:
                assert r.video.status is VideoStatus.VALIDATED
                assert abs(r.score - float(by_id[r.video.video_id] @ by_id[query])) < 1e-4
