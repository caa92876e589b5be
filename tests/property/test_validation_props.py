"""Validation invariants: the score is in [0, 1], agrees with the verdict, and never drops when a
signal improves."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.core_support import insights

from milkmobs.core.validation import score_video
from milkmobs.domain import Campaign

CAMPAIGN = Campaign()
words = st.sampled_from(["got milk", "GOT MILK!", "#gotmilk", "milk", "skate", "Milk Mob", "hello", "", "#", "g o t"])
signals = st.fixed_dictionaries(
    {
        "shown": st.booleans(),
        "aligned": st.booleans(),
        "mentioned": st.none() | st.booleans(),
        "audio": st.booleans(),
        "on_screen": st.lists(words | st.text(max_size=20), max_size=4),
        "detected": st.lists(words | st.text(max_size=20), max_size=4),
    }
)
hashtag_lists = st.lists(
    st.sampled_from(["gotmilk", "milkmob", "skate", "cats", "#MILK"]) | st.text(max_size=10), max_size=5
)


def _score(flags: dict, hashtags: list[str]) -> float:  # type: ignore[type-arg]
    return score_video("v", insights(**flags), hashtags, CAMPAIGN).score


@given(signals, hashtag_lists)
def test_score_is_a_probability_that_matches_the_verdict(flags, hashtags) -> None:  # type: ignore[no-untyped-def]
    result = score_video("v", insights(**flags), hashtags, CAMPAIGN)
    assert 0.0 <= result.score <= 1.0
    assert result.passed == (result.score >= CAMPAIGN.pass_threshold)
    parts = result.breakdown
    assert all(0.0 <= p <= 1.0 for p in (parts.visual, parts.ocr, parts.hashtags))
    assert (parts.audio is None) == (not flags["audio"] or flags["mentioned"] is None)
    assert result.reasons


@settings(max_examples=200)
@given(signals, hashtag_lists, st.sampled_from(["shown", "aligned", "mentioned"]))
def test_monotone_in_each_boolean_signal(flags, hashtags, name) -> None:  # type: ignore[no-untyped-def]
    if name == "mentioned" and flags["mentioned"] is None:
        return  # "unavailable" is not a weaker "no": it switches weights, tested separately
    low = _score({**flags, name: False}, hashtags)
    high = _score({**flags, name: True}, hashtags)
    assert high >= low


@given(signals, hashtag_lists, st.sampled_from(CAMPAIGN.keywords), st.sampled_from(CAMPAIGN.tags))
def test_monotone_in_text_and_hashtags(flags, hashtags, keyword, tag) -> None:  # type: ignore[no-untyped-def]
    base = _score(flags, hashtags)
    assert _score({**flags, "on_screen": [*flags["on_screen"], keyword.upper() + "!"]}, hashtags) >= base
    assert _score({**flags, "detected": [*flags["detected"], f"#{tag}"]}, hashtags) >= base
    assert _score(flags, [*hashtags, tag]) >= base


@given(st.booleans(), st.booleans())
def test_a_perfect_entry_passes_with_or_without_audio(audio, mentioned) -> None:  # type: ignore[no-untyped-def]
    flags = {"audio": audio, "mentioned": True if audio else mentioned, "on_screen": ["got milk"]}
    assert score_video("v", insights(**flags), ["gotmilk"], CAMPAIGN).score == 1.0
