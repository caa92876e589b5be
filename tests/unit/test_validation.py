"""Scoring examples; invariants (range, monotonicity) are in tests/property/test_validation_props.py."""

from __future__ import annotations

import pytest
from tests.unit.core_support import insights

from milkmobs.core.validation import fold_text, score_video
from milkmobs.domain import Campaign, InsightSources, ScoreWeights, Signal

CAMPAIGN = Campaign()


def test_a_full_entry_scores_one_and_passes() -> None:
    result = score_video("v1", insights(on_screen=["GOT MILK?"]), ["gotmilk"], CAMPAIGN)
    assert result.score == 1.0 and result.passed
    assert result.breakdown.model_dump() == {"visual": 1.0, "audio": 1.0, "ocr": 1.0, "hashtags": 1.0}
    assert result.video_id == "v1" and result.campaign == "Got Milk"


def test_sub_scores_and_weights() -> None:
    # visual ½ (shown, not aligned), audio 0, OCR ½ (keyword on screen, no tag), hashtags 0
    result = score_video(
        "v", insights(aligned=False, mentioned=False, on_screen=["milk"]), ["skate"], Campaign(tags=["gotmilk"])
    )
    assert result.breakdown.visual == 0.5 and result.breakdown.audio == 0.0
    assert result.breakdown.ocr == 0.5 and result.breakdown.hashtags == 0.0
    assert result.score == pytest.approx(0.4 * 0.5 + 0.2 * 0.5)
    assert not result.passed


def test_without_audio_the_other_weights_apply() -> None:
    no_track = score_video("v", insights(audio=False, mentioned=True, on_screen=["got milk"]), ["gotmilk"], CAMPAIGN)
    assert no_track.breakdown.audio is None and no_track.score == 1.0
    unknown = score_video("v", insights(mentioned=None, on_screen=[]), [], CAMPAIGN)
    assert unknown.breakdown.audio is None
    assert unknown.score == pytest.approx(0.5 * 1.0)  # visual only, weight 0.5
    assert any("audio unavailable" in r for r in unknown.reasons)


def test_text_is_compared_ignoring_case_spaces_punctuation_and_hash() -> None:
    assert fold_text("#Got  Milk?!") == "gotmilk"
    result = score_video("v", insights(on_screen=[], detected=["Join the #GOT-MILK crew"]), [], CAMPAIGN)
    assert result.breakdown.ocr == 0.5  # the tag is in the detected text, no keyword on screen
    tagged = score_video("v", insights(), ["#GotMilk"], CAMPAIGN)
    assert tagged.breakdown.hashtags == 1.0


def test_keyword_must_be_on_screen_not_only_spoken() -> None:
    result = score_video("v", insights(on_screen=[], detected=["got milk"]), [], Campaign(tags=["milkmob"]))
    assert result.breakdown.ocr == 0.0


def test_exactly_the_threshold_passes() -> None:
    # 0.4·1 + 0.3·0 + 0.2·1 + 0.1·1 = 0.7 exactly (float noise must not reject it)
    result = score_video("v", insights(mentioned=False, on_screen=["got milk"]), ["gotmilk"], CAMPAIGN)
    assert result.score == pytest.approx(0.7) and result.passed


def test_custom_campaign_weights_and_threshold() -> None:
    campaign = Campaign(
        name="Oat",
        product="oat milk",
        action="pouring",
        keywords=["oat"],
        tags=["oatmob"],
        weights=ScoreWeights(visual=1.0, audio=0.0, ocr=0.0, hashtags=0.0),
        pass_threshold=0.5,
    )
    result = score_video("v", insights(shown=True, aligned=False), [], campaign)
    assert result.score == 0.5 and result.passed and result.campaign == "Oat"


def test_reasons_are_readable() -> None:
    result = score_video("v", insights(shown=False, aligned=False, mentioned=False), ["skate"], CAMPAIGN)
    text = " | ".join(result.reasons)
    assert "shows milk: no" in text and "none of #gotmilk" in text and "rejected" in text
    assert result.reasons[-1].startswith("score 0.00 < threshold 0.70")


def test_every_breakdown_line_names_the_signal_it_came_from() -> None:
    watched = score_video("v", insights(on_screen=["GOT MILK?"]), ["gotmilk"], CAMPAIGN).reasons
    assert watched[0] == "visual 1.00: shows milk: yes (from pixels); action matches 'drinking milk': yes (from pixels)"
    assert watched[1] == "audio 1.00: milk mentioned: yes (from sound)"
    assert watched[2].endswith("(from on-screen text)") and watched[3].endswith("(from hashtags)")
    read = insights(aligned=False, mentioned=False, on_screen=[]).model_copy(
        update={
            "sources": InsightSources(
                product_shown=[Signal.ON_SCREEN_TEXT],
                product_mentioned=[Signal.SOUND],
                action_aligned=[Signal.TITLE, Signal.HASHTAGS],
            )
        }
    )
    lines = score_video("v", read, [], CAMPAIGN).reasons
    assert "shows milk: yes (from on-screen text)" in lines[0]
    assert "action matches 'drinking milk': no (looked at the title, hashtags)" in lines[0]
    assert lines[1] == "audio 0.00: milk mentioned: no (looked at sound)"
