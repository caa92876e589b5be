"""Scoring a video against its campaign: a pure function of the insights, the hashtags and the rules.

Sub-scores are in [0, 1]:

- **visual** = ½ · the product is shown + ½ · the action matches the campaign's action;
- **audio** = the product is mentioned, or *unavailable* (None) when the video has no usable audio
  (``insights.audio_available`` is False or ``product_mentioned`` is None);
- **ocr** = ½ · a campaign keyword is visible on screen + ½ · a campaign tag appears in the detected
  or on-screen text;
- **hashtags** = a campaign tag is among the post's hashtags.

Text is compared case-insensitively, ignoring spaces, punctuation and ``#`` ("GOT MILK?" contains the
keyword "got milk" and the tag "#gotmilk"). The weighted sum uses the campaign's weights, or its
without-audio weights when audio is unavailable; the video passes at score ≥ the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from milkmobs.domain import Campaign, Insights, ScoreBreakdown, Signal, ValidationResult, normalize_hashtag
from milkmobs.domain.campaign import first_mention, fold_text

#: Scores are rounded so float noise (0.1 + 0.2 …) never decides pass or fail.
_DIGITS = 6


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _said(flag: bool, sources: Sequence[Signal]) -> str:
    """ "yes (from the title)" or "no (looked at pixels)": every line names the signal behind it."""
    names = ", ".join(_signal_name(s) for s in sources) or "nothing"
    return f"yes (from {names})" if flag else f"no (looked at {names})"


def _signal_name(signal: Signal) -> str:
    return f"the {signal.value}" if signal in (Signal.TITLE, Signal.DESCRIPTION) else signal.value


def score_video(
    video_id: str,
    insights: Insights,
    hashtags: Sequence[str],
    campaign: Campaign,
    *,
    at: datetime | None = None,
) -> ValidationResult:
    """The validation result (score, pass/fail, breakdown and readable reasons) of one video."""
    reasons: list[str] = []
    sources = insights.sources

    visual = 0.5 * float(insights.product_shown) + 0.5 * float(insights.action_aligned)
    reasons.append(
        f"visual {visual:.2f}: shows {campaign.product}: {_said(insights.product_shown, sources.product_shown)}; "
        f"action matches '{campaign.action}': {_said(insights.action_aligned, sources.action_aligned)}"
    )

    audio: float | None
    if not insights.audio_available or insights.product_mentioned is None:
        audio = None
        reasons.append("audio unavailable: no usable audio track, so the without-audio weights apply")
    else:
        audio = float(insights.product_mentioned)
        reasons.append(
            f"audio {audio:.2f}: {campaign.product} mentioned: "
            + _said(insights.product_mentioned, sources.product_mentioned)
        )

    keyword = first_mention(campaign.keywords, insights.on_screen_text)
    tag_on_screen = first_mention(campaign.tags, insights.on_screen_text)
    tag_in_text = tag_on_screen or first_mention(campaign.tags, insights.detected_text)
    ocr = 0.5 * float(keyword is not None) + 0.5 * float(tag_in_text is not None)
    reasons.append(
        f"ocr {ocr:.2f}: "
        + (f"keyword '{keyword}' on screen" if keyword else "no campaign keyword on screen")
        + "; "
        + (
            f"tag '#{fold_text(tag_in_text)}' " + ("on screen" if tag_on_screen else "in the detected speech")
            if tag_in_text
            else "no campaign tag on screen or in the detected speech"
        )
        + f" (from {Signal.ON_SCREEN_TEXT.value})"
    )

    wanted = {fold_text(normalize_hashtag(t)) for t in campaign.tags} - {""}
    carried = [t for t in hashtags if fold_text(normalize_hashtag(t)) in wanted]
    tag_score = 1.0 if carried else 0.0
    reasons.append(
        f"hashtags {tag_score:.2f}: "
        + (f"carries #{normalize_hashtag(carried[0])}" if carried else "none of " + _tag_list(campaign.tags))
        + f" (from {Signal.HASHTAGS.value})"
    )

    weights = campaign.weights if audio is not None else campaign.weights_without_audio
    total = (
        weights.visual * visual
        + weights.audio * (audio if audio is not None else 0.0)
        + weights.ocr * ocr
        + weights.hashtags * tag_score
    )
    score = min(1.0, max(0.0, round(total, _DIGITS)))
    passed = score >= round(campaign.pass_threshold, _DIGITS)
    verdict = "passed" if passed else "rejected"
    comparison = "≥" if passed else "<"
    reasons.append(f"score {score:.2f} {comparison} threshold {campaign.pass_threshold:.2f}: {verdict}")
    return ValidationResult(
        video_id=video_id,
        score=score,
        passed=passed,
        breakdown=ScoreBreakdown(visual=visual, audio=audio, ocr=ocr, hashtags=tag_score),
        reasons=reasons,
        campaign=campaign.name,
        validated_at=at,
    )


def _tag_list(tags: Sequence[str]) -> str:
    shown = ", ".join(f"#{normalize_hashtag(t)}" for t in tags) or "(no campaign tags configured)"
    return shown + " among the hashtags"
