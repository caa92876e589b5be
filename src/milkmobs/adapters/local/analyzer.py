"""``LocalAnalyzer``: an honest, offline stand-in for Pegasus (insights) and Marengo (embeddings).

It is NOT a semantic video model. It measures signals in the file itself — colours, texture and
motion of sampled frames, the loudness and spectral shape of the audio track, and on-screen text
read by OCR — and turns them into (a) campaign insights by plain text rules and (b) a fixed-size
embedding whose cosine says "looks, sounds and reads alike", not "means the same thing".
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from milkmobs.adapters.local import descriptors as desc
from milkmobs.adapters.local.media import frame_size_for, probe_file, read_audio, read_frames, video_label
from milkmobs.adapters.local.ocr import RapidOcrReader, TextLine, distinct_texts, insights_from_signals, shared_reader
from milkmobs.adapters.local.speech import SpokenWord, WordListener, listen_terms, shared_spotter
from milkmobs.domain import (
    AnalysisError,
    Embedding,
    Insights,
    InvalidInputError,
    MediaError,
    MediaInfo,
    ModelType,
    ModelUsage,
    Video,
)
from milkmobs.domain.campaign import Campaign
from milkmobs.ports import ModelOutput

INSIGHTS_MODEL_ID = "local.ocr-v1"
EMBEDDING_MODEL_ID = "local.visual-audio-v1"
DEFAULT_DIMENSION = 256


@dataclass(frozen=True)
class VideoSignals:
    """Everything read from one file; small, so it is cached instead of decoding twice."""

    info: MediaInfo
    visual: desc.VisualDescriptor
    audio: desc.AudioDescriptor | None
    text_lines: tuple[TextLine, ...]

    @property
    def on_screen_text(self) -> list[str]:
        return distinct_texts(self.text_lines)


class LocalAnalyzer:
    """``Analyzer`` on real files, with no network and no cloud account.

    ``resolve_path`` maps a media key to the stored file (``LocalMediaStore.path_for``).
    ``dimension`` is the embedding size (default 256). Frames are sampled evenly, at most one per
    second except that short clips get at least ``min_frames``; OCR reads one of them every
    ``ocr_every_seconds``, within the ``ocr_frames`` (min, max) bounds.
    Per-file signals are cached (LRU, keyed by path, size and mtime), and concurrent calls for the
    same file wait for one decode, so the Pegasus-like and Marengo-like branches share the work.
    """

    def __init__(
        self,
        resolve_path: Callable[[str], Path],
        *,
        dimension: int | None = None,
        min_frames: int = 4,
        max_frames: int = 24,
        ocr_frames: tuple[int, int] = (3, 8),
        ocr_every_seconds: float = 4.0,
        max_seconds: float = 180.0,
        frame_width: int = 640,
        cache_size: int = 128,
        ocr: RapidOcrReader | None = None,
        speech: WordListener | None = None,
    ) -> None:
        if dimension is not None and dimension < 8:
            raise ValueError(f"embedding dimension must be at least 8, got {dimension}")
        self._resolve_path = resolve_path
        self._dimension = dimension or DEFAULT_DIMENSION
        self._min_frames, self._max_frames = min_frames, max_frames
        self._ocr_frames, self._ocr_every = ocr_frames, ocr_every_seconds
        self._max_seconds, self._frame_width = max_seconds, frame_width
        self._cache_size = cache_size
        self._ocr = ocr
        self._speech = speech
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int, int], VideoSignals] = OrderedDict()
        self._inflight: dict[tuple[str, int, int], Future[VideoSignals]] = {}

    @property
    def insights_model_id(self) -> str:
        return INSIGHTS_MODEL_ID

    @property
    def embedding_model_id(self) -> str:
        return EMBEDDING_MODEL_ID

    @property
    def embedding_dimension(self) -> int:
        return self._dimension

    # --- the Analyzer port ------------------------------------------------------------
    def describe_video(self, video: Video, campaign: Campaign) -> ModelOutput[Insights]:
        """Insights from on-screen text, campaign words heard in speech, the post's words and the
        campaign (``ocr.insights_from_signals``)."""
        signals = self._signals_for(video, INSIGHTS_MODEL_ID)
        heard = self._heard(video, campaign) if signals.audio is not None else []
        insights = insights_from_signals(
            video,
            campaign,
            on_screen=signals.text_lines,
            has_audio=signals.audio is not None,
            scenes=_scene_labels(signals.visual),
            model_id=INSIGHTS_MODEL_ID,
            heard=heard,
        )
        return ModelOutput(insights, (self._usage(INSIGHTS_MODEL_ID, ModelType.PEGASUS, signals.info),))

    def embed_video(self, video: Video) -> ModelOutput[Embedding]:
        """Colour, texture, motion, sound and hashed on-screen text + hashtags, projected and L2-normalised."""
        signals = self._signals_for(video, EMBEDDING_MODEL_ID)
        texts = [*signals.on_screen_text, *(f"#{tag}" for tag in video.hashtags)]
        text = desc.text_descriptor(texts) if texts else None
        raw = desc.raw_vector(signals.visual, signals.audio, text)
        embedding = Embedding.create(
            desc.project(raw, self._dimension), model_id=EMBEDDING_MODEL_ID, dimension=self._dimension
        )
        return ModelOutput(embedding, (self._usage(EMBEDDING_MODEL_ID, ModelType.MARENGO, signals.info),))

    def embed_text(self, text: str) -> ModelOutput[Embedding]:
        """The query's hashed tokens in the text part of the video space.

        Only on-screen text and hashtags of videos can match: a query scores
        at most about 0.38 against a video (the text block's share), so scores rank videos but stay small.
        """
        vector = desc.text_descriptor([text])
        if not np.any(vector):
            raise InvalidInputError("the text query has no searchable words", field="text")
        raw = desc.raw_vector(None, None, vector)
        embedding = Embedding.create(
            desc.project(raw, self._dimension), model_id=EMBEDDING_MODEL_ID, dimension=self._dimension
        )
        tokens = len(desc.text_tokens([text]))
        usage = ModelUsage(model_id=EMBEDDING_MODEL_ID, model_type=ModelType.MARENGO, input_tokens=tokens)
        return ModelOutput(embedding, (usage,))

    def _heard(self, video: Video, campaign: Campaign) -> list[SpokenWord]:
        """Campaign words spoken in the soundtrack. The track is decoded again (a fast ffmpeg pipe)
        rather than cached: minutes of samples per cached file would cost far more memory."""
        label = video_label(video)
        try:
            samples = read_audio(
                self._resolve_path(video.media_key),
                sample_rate=desc.AUDIO_SAMPLE_RATE,
                label=label,
                max_seconds=self._max_seconds,
            )
            spotter = self._speech or shared_spotter()
            return spotter.spoken(samples, listen_terms(campaign.product, campaign.keywords))
        except MediaError as exc:
            raise AnalysisError(exc.message, video_id=video.video_id, model_id=INSIGHTS_MODEL_ID) from exc

    # --- signals, decoded once per file ------------------------------------------------
    def _signals_for(self, video: Video, model_id: str) -> VideoSignals:
        try:
            return self._signals(video)
        except MediaError as exc:
            raise AnalysisError(exc.message, video_id=video.video_id, model_id=model_id) from exc

    def _signals(self, video: Video) -> VideoSignals:
        path = self._resolve_path(video.media_key)
        try:
            stat = path.stat()
        except OSError as exc:
            raise MediaError(f"{video_label(video)}: the uploaded file is missing; upload it again") from exc
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            pending = self._inflight.get(key)
            owner = pending is None
            if pending is None:
                pending = self._inflight[key] = Future()
        if not owner:
            return pending.result()  # another branch is decoding this file: wait for it
        try:
            signals = self._decode(path, video_label(video))
        except BaseException as exc:
            with self._lock:
                self._inflight.pop(key, None)
            pending.set_exception(exc)
            raise
        with self._lock:
            self._cache[key] = signals
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            self._inflight.pop(key, None)
        pending.set_result(signals)
        return signals

    def _decode(self, path: Path, label: str) -> VideoSignals:
        info = probe_file(path, label=label)
        span = min(info.duration_seconds, self._max_seconds)
        count = min(self._max_frames, max(self._min_frames, math.ceil(span)))
        frames = read_frames(
            path,
            count=count,
            duration=span,
            size=frame_size_for(info, max_width=self._frame_width),
            label=label,
            max_seconds=self._max_seconds,
        )
        visual = desc.visual_descriptor(frames)
        audio = None
        if info.has_audio:
            samples = read_audio(path, sample_rate=desc.AUDIO_SAMPLE_RATE, label=label, max_seconds=self._max_seconds)
            audio = desc.audio_descriptor(samples) if samples.size else None
        picks = ocr_frame_indices(len(frames), span, bounds=self._ocr_frames, every_seconds=self._ocr_every)
        step = span / len(frames)
        reader = self._ocr or shared_reader()
        lines = reader.read_frames(frames[picks], [round((i + 0.5) * step, 2) for i in picks])
        return VideoSignals(info=info, visual=visual, audio=audio, text_lines=tuple(lines))

    @staticmethod
    def _usage(model_id: str, model_type: ModelType, info: MediaInfo) -> ModelUsage:
        return ModelUsage(model_id=model_id, model_type=model_type, video_seconds=info.duration_seconds)


def ocr_frame_indices(
    count: int, span: float, *, bounds: tuple[int, int] = (3, 8), every_seconds: float = 4.0
) -> list[int]:
    """Which of ``count`` evenly sampled frames OCR reads: one per ``every_seconds``, within ``bounds``."""
    low, high = bounds
    wanted = min(high, max(low, math.ceil(span / every_seconds)), count)
    return sorted({round(i) for i in np.linspace(0, count - 1, wanted)})


def _scene_labels(visual: desc.VisualDescriptor) -> list[str]:
    """Plain words for what was measured: dominant colour, brightness, amount of motion."""
    # Noun phrases, because mob descriptions read "… in <scene>".
    light = "dim light" if visual.brightness < 0.3 else "bright light" if visual.brightness > 0.7 else "soft light"
    motion = (
        "still shots" if visual.motion_level < 0.01 else "busy motion" if visual.motion_level > 0.08 else "slow motion"
    )
    return [f"{visual.dominant_hue} tones", light, motion]
