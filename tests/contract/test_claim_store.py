"""ClaimStore contract: first writer wins, atomically; release only by the holder; invisible to video lists."""

from __future__ import annotations

import threading
from typing import Any

from milkmobs.ports import Claim
from tests.contract.support import T0, make_video


def _claim(video_id: str, *, key: str = "key-1", scope: str = "submit/u1", fingerprint: str = "fp-a") -> Claim:
    return Claim(scope=scope, key=key, fingerprint=fingerprint, video_id=video_id, created_at=T0)


def test_the_first_claim_wins_and_later_ones_get_it_back(claim_store: Any) -> None:
    claims, _ = claim_store
    first = _claim("v1")
    assert claims.claim(first) == first
    assert claims.claim(_claim("v2", fingerprint="fp-b")) == first  # taken: the earlier claim answers
    assert claims.get("submit/u1", "key-1") == first
    assert claims.get("submit/u1", "key-2") is None
    other_scope = _claim("v3", scope="submit/u2")
    assert claims.claim(other_scope) == other_scope  # keys are per scope


def test_release_only_removes_the_holders_claim(claim_store: Any) -> None:
    claims, _ = claim_store
    claims.claim(_claim("v1"))
    claims.release("submit/u1", "key-1", video_id="v2")  # not the holder: stays
    assert claims.get("submit/u1", "key-1") is not None
    claims.release("submit/u1", "key-1", video_id="v1")
    assert claims.get("submit/u1", "key-1") is None
    claims.release("submit/u1", "key-1", video_id="v1")  # already gone: no error
    assert claims.claim(_claim("v2")).video_id == "v2"  # free again


def test_long_and_unusual_keys_round_trip(claim_store: Any) -> None:
    claims, _ = claim_store
    key = "k" * 255 + "~!#$%&'*+-.^_`|"
    scope = "content/user-with-dashes_and_underscores"
    held = claims.claim(_claim("v1", key=key, scope=scope, fingerprint="f" * 64))
    assert claims.get(scope, key) == held and held.fingerprint == "f" * 64


def test_concurrent_claims_have_exactly_one_winner(claim_store: Any) -> None:
    claims, _ = claim_store
    barrier = threading.Barrier(8)
    answers: list[str] = []

    def contend(i: int) -> None:
        barrier.wait()
        answers.append(claims.claim(_claim(f"v{i}", key="race")).video_id)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(answers)) == 1 and len(answers) == 8


def test_claims_never_show_up_among_videos(claim_store: Any) -> None:
    claims, videos = claim_store
    videos.add(make_video("v1"))
    claims.claim(_claim("v1"))
    claims.claim(_claim("v1", scope="content/u1", key="a" * 64))
    assert [v.video_id for v in videos.list_by_status(None, limit=10).items] == ["v1"]
    assert [v.video_id for v in videos.list_by_user("u1", limit=10).items] in (["v1"], [])
    assert videos.stats().total_videos == 1
