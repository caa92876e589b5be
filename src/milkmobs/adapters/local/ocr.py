"""On-screen text: read with RapidOCR (ONNX models shipped inside the wheel: runs offline), then
matched against the campaign's keywords and tags.

Only RapidOCR's default models are used — asking for another one would make it download.
One engine per process, created on first use (loading the models takes about a second) and
guarded by a lock, because the pipeline workers share it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from milkmobs.adapters.local.speech import SpokenWord, first_spoken
from milkmobs.domain import Highlight, Insights, InsightSources, MediaError, Signal, Video
from milkmobs.domain.campaign import Campaign, first_mention, fold_text


@dataclass(frozen=True)
class TextLine:
    """One line of text read in a frame."""

    text: str
    score: float
    at_seconds: float


class RapidOcrReader:
    """Reads text lines in BGR frames. ``min_score`` drops RapidOCR's low-confidence guesses.

    Holds up to ``engines`` single-threaded RapidOCR engines, created on demand, each used by one
    caller at a time: pipeline workers read in parallel without sharing an engine's state, and
    without onnxruntime's thread pools fighting each other for the cores (single-threaded
    sessions were 2.4x faster per frame on a busy 2-core machine).
    """

    def __init__(self, *, min_score: float = 0.6, max_side: int = 640, engines: int = 2) -> None:
        self._min_score = min_score
        self._max_side = max_side
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max(1, engines))

    def _new_engine(self) -> Any:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # rapidocr or onnxruntime missing
            raise MediaError(f"OCR is not available: install milkmobs[media] ({exc})") from exc
        return RapidOCR(
            params={
                # "error": a frame without text is normal here, not worth a warning each time.
                "Global.log_level": "error",
                # Captions in videos are upright: skip the 180° text classifier (a third of the time).
                "Global.use_cls": False,
                # Bounding the detector's input keeps a frame at ~0.2 s on one core.
                "Det.limit_type": "max",
                "Det.limit_side_len": self._max_side,
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def _run(self, frame: npt.NDArray[np.uint8]) -> Any:
        with self._slots:  # at most `engines` readers at once, so the idle queue always has one or may grow
            try:
                engine = self._idle.get_nowait()
            except queue.Empty:
                engine = self._new_engine()
            try:
                return engine(np.ascontiguousarray(frame))
            finally:
                self._idle.put(engine)

    def read(self, frame: npt.NDArray[np.uint8], *, at_seconds: float = 0.0) -> list[TextLine]:
        """Text lines in one ``(h, w, 3)`` BGR frame, top to bottom."""
        result = self._run(frame)
        texts: Sequence[str] = getattr(result, "txts", None) or ()
        scores: Sequence[float] = getattr(result, "scores", None) or ()
        return [
            TextLine(text=str(t).strip(), score=float(s), at_seconds=at_seconds)
            for t, s in zip(texts, scores, strict=False)
            if float(s) >= self._min_score and str(t).strip()
        ]

    def read_frames(self, frames: npt.NDArray[np.uint8], times: Sequence[float]) -> list[TextLine]:
        """Every line read in ``frames`` (one timestamp per frame)."""
        lines: list[TextLine] = []
        for frame, at in zip(frames, times, strict=True):
            lines.extend(self.read(frame, at_seconds=at))
        return lines


def distinct_texts(lines: Sequence[TextLine]) -> list[str]:
    """The texts read, first spelling kept, duplicates (compared folded) dropped, in order of appearance."""
    seen: dict[str, str] = {}
    for line in lines:
        seen.setdefault(fold_text(line.text), line.text)
    return [text for key, text in seen.items() if key]


_shared_reader: RapidOcrReader | None = None
_shared_lock = threading.Lock()


def shared_reader() -> RapidOcrReader:
    """The process-wide reader (its ONNX sessions are loaded once)."""
    global _shared_reader
    with _shared_lock:
        if _shared_reader is None:
            _shared_reader = RapidOcrReader()
        return _shared_reader


# --- campaign rules on the text read ------------------------------------------------------
def _action_words(action: str) -> list[str]:
    """The phrase "drinking milk" → ["drinking milk", "drink"] (the phrase, and its verb without "-ing")."""
    words = action.split()
    verb = words[0][:-3] if words and words[0].endswith("ing") and len(words[0]) > 5 else (words[0] if words else "")
    return [w for w in (action, verb) if w]


def insights_from_signals(
    video: Video,
    campaign: Campaign,
    *,
    on_screen: Sequence[TextLine],
    has_audio: bool,
    scenes: list[str],
    model_id: str,
    heard: Sequence[SpokenWord] = (),
) -> Insights:
    """Campaign insights from what was read on screen and what the creator wrote.

    - product shown: the product or a campaign keyword is visible on screen (OCR). No object recognition.
    - product mentioned: the product or a campaign keyword was ``heard`` in the soundtrack's speech
      (``speech.PhoneSpotter``); ``None`` when the file has no audio track.
    - action aligned: the campaign's action ("drinking milk", or its verb "drink") in any of that text.
    """
    shown_text = distinct_texts(on_screen)
    creator_text = [video.title, video.description, *(f"#{t}" for t in video.hashtags)]
    product_terms = [campaign.product, *campaign.keywords]
    keyword_on_screen = first_mention(product_terms, shown_text)
    tag_on_screen = first_mention(campaign.tags, shown_text)
    tag_carried = first_mention(campaign.tags, [f"#{t}" for t in video.hashtags])
    mentioned = first_spoken(product_terms, heard) if has_audio else None
    action_words = _action_words(campaign.action)
    action = first_mention(action_words, [*shown_text, *creator_text])
    action_fields = {
        Signal.ON_SCREEN_TEXT: shown_text,
        Signal.TITLE: [video.title],
        Signal.DESCRIPTION: [video.description],
        Signal.HASHTAGS: [f"#{t}" for t in video.hashtags],
    }
    action_from = [s for s, texts in action_fields.items() if first_mention(action_words, texts)]

    product_mentioned = (mentioned is not None) if has_audio else None
    evidence = [keyword_on_screen is not None, action is not None, tag_on_screen is not None or tag_carried is not None]
    if product_mentioned is not None:
        evidence.append(product_mentioned)
    reasons = [
        f"on screen: {', '.join(repr(t) for t in shown_text)}" if shown_text else "no text read on screen",
        f"'{keyword_on_screen}' is visible" if keyword_on_screen else f"no '{campaign.product}' text visible",
        f"action '{campaign.action}' named" if action else f"action '{campaign.action}' not named",
        "no audio track"
        if not has_audio
        else (
            f"'{mentioned}' heard at {heard[0].start_seconds:.1f}s"
            if mentioned and heard
            else "product not heard in speech"
        ),
        "local analyzer: OCR, keyword spotting in speech and text rules, no object recognition",
    ]
    highlights = [
        Highlight(start_seconds=line.at_seconds, end_seconds=line.at_seconds, description=f"on screen: {line.text}")
        for line in on_screen
        if first_mention([*product_terms, *campaign.tags], [line.text])
    ]
    highlights += [
        Highlight(start_seconds=w.start_seconds, end_seconds=w.end_seconds, description=f"said: {w.word}")
        for w in heard
    ]
    highlights = sorted(highlights, key=lambda h: h.start_seconds)[:5]
    return Insights(
        participation_score=round(sum(evidence) / len(evidence), 3),
        product_shown=keyword_on_screen is not None,
        product_mentioned=product_mentioned,
        action_aligned=action is not None,
        rationale="; ".join(reasons),
        highlights=highlights,
        on_screen_text=shown_text,
        actions=[campaign.action] if action else [],
        scenes=scenes,
        audio_available=has_audio,
        model_id=model_id,
        sources=InsightSources(
            product_shown=[Signal.ON_SCREEN_TEXT],
            product_mentioned=[Signal.SOUND],
            action_aligned=action_from or list(action_fields),
        ),
    )
