"""A FAKE, deterministic analyzer for tests and notebooks. It does not look at pictures or sound.

What it returns is derived only from the video's metadata and its stored bytes:

- **embedding**: the L2-normalised sum of a *theme* vector (one pseudo-random unit vector
  per hashtag — or per title word when there are no hashtags — summed and normalised) and a
  small pseudo-random component seeded by the SHA-256 of the bytes (weight ``bytes_weight``).
  Videos sharing their hashtags therefore land close together (cosine ≈ 0.9 by default)
  and cluster into the same mob; unrelated videos are nearly orthogonal. Videos with neither
  hashtags nor title words share one "untagged" theme.
- **insights**: campaign keywords and tags found in the title, description, hashtags and
  the bytes (read as Latin-1 text: a test "video" may literally contain ``GOT MILK``, which
  the fake treats as on-screen text). Bytes containing ``no-audio`` mean no audio track.
- **text embedding**: the theme vector of the text's words, so ``search by text`` for a
  hashtag finds the videos carrying it.
- **transient failures**: with ``transient_failure_rate=r``, a fraction ``r`` of videos
  (chosen by hashing the video id with ``seed``) get a TransientAnalysisError on the first
  ``describe_video`` and the first ``embed_video`` call; retries succeed.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter

import numpy as np

from milkmobs.adapters.memory.media_processor import NO_AUDIO_MARKER, fake_duration_seconds
from milkmobs.domain import (
    Embedding,
    Highlight,
    Insights,
    InsightSources,
    ModelType,
    ModelUsage,
    NotFoundError,
    Signal,
    Vector,
    Video,
    normalize_hashtag,
)
from milkmobs.domain.campaign import Campaign
from milkmobs.domain.errors import AnalysisError, InvalidInputError, TransientAnalysisError
from milkmobs.ports import MediaStore, ModelOutput

_WORD = re.compile(r"[#\w]+")
_POST_AND_BYTES = [Signal.TITLE, Signal.DESCRIPTION, Signal.HASHTAGS, Signal.ON_SCREEN_TEXT]
#: The fake reads words, never pixels or sound: its insights say so (the file's bytes count as on-screen text).
_FAKE_SOURCES = InsightSources(
    product_shown=_POST_AND_BYTES,
    product_mentioned=[Signal.DESCRIPTION, Signal.ON_SCREEN_TEXT],
    action_aligned=_POST_AND_BYTES,
)
_SCAN_BYTES = 1 << 20  # the fake "sees" the first MiB of the file


def _seed_of(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _terms(text: str) -> list[str]:
    return [t for t in (normalize_hashtag(w) for w in _WORD.findall(text)) if t]


class FakeAnalyzer:
    """FAKE Analyzer (Pegasus + Marengo stand-in); see the module docstring for what it derives from."""

    def __init__(
        self,
        media: MediaStore,
        *,
        dimension: int = 512,
        insights_model_id: str = "fake.pegasus",
        embedding_model_id: str = "fake.marengo",
        transient_failure_rate: float = 0.0,
        seed: int = 0,
        bytes_weight: float = 0.35,
        bytes_per_second: int = 250_000,
    ) -> None:
        if dimension < 2:
            raise InvalidInputError(f"dimension must be at least 2, got {dimension}", field="dimension")
        if not 0.0 <= transient_failure_rate <= 1.0:
            raise InvalidInputError("transient_failure_rate must be in [0, 1]", field="transient_failure_rate")
        self._media = media
        self._dimension = dimension
        self._insights_model_id = insights_model_id
        self._embedding_model_id = embedding_model_id
        self._failure_rate = transient_failure_rate
        self._seed = seed
        self._bytes_weight = bytes_weight
        self._bytes_per_second = bytes_per_second
        self._failed_once: set[tuple[str, str]] = set()
        self.calls: Counter[str] = Counter()  # how often each method ran (failures included)
        self._lock = threading.Lock()

    @property
    def insights_model_id(self) -> str:
        return self._insights_model_id

    @property
    def embedding_model_id(self) -> str:
        return self._embedding_model_id

    @property
    def embedding_dimension(self) -> int:
        return self._dimension

    # -- deterministic building blocks ---------------------------------------------------

    def _unit(self, label: str) -> Vector:
        rng = np.random.default_rng(_seed_of(f"{self._seed}:{label}"))
        vector = rng.standard_normal(self._dimension).astype(np.float32)
        return (vector / np.linalg.norm(vector)).astype(np.float32)

    def _theme(self, terms: list[str]) -> Vector:
        total = np.zeros(self._dimension, dtype=np.float32)
        for term in dict.fromkeys(terms or ["untagged"]):
            total += self._unit(f"theme:{term}")
        return (total / np.linalg.norm(total)).astype(np.float32)

    def fails_first_call(self, video_id: str) -> bool:
        """Whether this video is among the ``transient_failure_rate`` fraction that fail once."""
        return _seed_of(f"fail:{self._seed}:{video_id}") / 2**64 < self._failure_rate

    def _count_and_maybe_fail(self, operation: str, video_id: str, model_id: str) -> None:
        with self._lock:
            self.calls[operation] += 1
            if not self.fails_first_call(video_id) or (video_id, operation) in self._failed_once:
                return
            self._failed_once.add((video_id, operation))
        raise TransientAnalysisError(
            f"{model_id} is throttling (fake): first {operation} call for video {video_id} refused; retry later",
            video_id=video_id,
            model_id=model_id,
        )

    def _read(self, video: Video, model_id: str) -> bytes:
        try:
            data = self._media.get(video.media_key)
        except NotFoundError as exc:
            raise AnalysisError(
                f"video {video.video_id}: {model_id} found no file at {video.media_key}; upload it first",
                video_id=video.video_id,
                model_id=model_id,
            ) from exc
        if not data:
            raise AnalysisError(
                f"video {video.video_id}: the file is empty", video_id=video.video_id, model_id=model_id
            )
        return data

    def _seconds(self, video: Video, data: bytes) -> float:
        if video.media is not None and video.media.duration_seconds > 0:
            return video.media.duration_seconds
        return fake_duration_seconds(len(data), self._bytes_per_second)

    # -- the Analyzer port ---------------------------------------------------------------

    def describe_video(self, video: Video, campaign: Campaign) -> ModelOutput[Insights]:
        model_id = self._insights_model_id
        self._count_and_maybe_fail("describe_video", video.video_id, model_id)
        data = self._read(video, model_id)
        seconds = self._seconds(video, data)
        screen = data[:_SCAN_BYTES].decode("latin-1").lower()
        metadata = f"{video.title} {video.description}".lower()
        corpus = f"{metadata} {' '.join(video.hashtags)} {screen}"
        product = campaign.product.lower()
        campaign_tags = list(dict.fromkeys(normalize_hashtag(t) for t in campaign.tags))  # ordered: deterministic

        on_screen = [k for k in campaign.keywords if k.lower() in screen]
        on_screen += [f"#{t}" for t in campaign_tags if f"#{t}" in screen]
        audio = NO_AUDIO_MARKER not in data
        # "Shown": the product appears anywhere, or the poster tagged the campaign.
        shown = product in corpus or bool(set(campaign_tags) & set(video.hashtags))
        mentioned = (product in video.description.lower() or product in screen) if audio else None
        stems = [w[: max(4, len(w) - 3)] for w in campaign.action.lower().split()]
        aligned = bool(stems) and all(s in corpus for s in stems)
        signals = [shown, aligned, bool(on_screen), bool(mentioned)]
        insights = Insights(
            participation_score=round(sum(signals) / len(signals), 3),
            product_shown=shown,
            product_mentioned=mentioned,
            action_aligned=aligned,
            rationale=(
                f"FAKE analysis from metadata and file bytes: product shown={shown}, action aligned={aligned}, "
                f"campaign text on screen={bool(on_screen)}, product mentioned={mentioned}"
            ),
            highlights=[Highlight(start_seconds=0.0, end_seconds=min(seconds, 3.0), description="opening shot")],
            detected_text=[k for k in campaign.keywords if k.lower() in corpus] if audio else [],
            on_screen_text=on_screen,
            actions=[campaign.action] if aligned else ["talking to camera"],
            objects=[campaign.product] if shown else [],
            scenes=[t for t in video.hashtags if t not in campaign_tags][:3] or ["indoors"],
            audio_available=audio,
            model_id=model_id,
            sources=_FAKE_SOURCES,
        )
        usage = ModelUsage(
            model_id=model_id,
            model_type=ModelType.PEGASUS,
            input_tokens=350 + len(metadata) // 4,  # prompt + schema + metadata, roughly
            output_tokens=len(insights.model_dump_json()) // 4,
            video_seconds=seconds,
        )
        return ModelOutput(value=insights, usage=(usage,))

    def embed_video(self, video: Video) -> ModelOutput[Embedding]:
        model_id = self._embedding_model_id
        self._count_and_maybe_fail("embed_video", video.video_id, model_id)
        data = self._read(video, model_id)
        terms = video.hashtags or _terms(video.title)
        content = self._unit(f"bytes:{hashlib.sha256(data).hexdigest()}")
        vector = self._theme(terms) + np.float32(self._bytes_weight) * content
        embedding = Embedding.create(vector, model_id=model_id, dimension=self._dimension)
        usage = ModelUsage(model_id=model_id, model_type=ModelType.MARENGO, video_seconds=self._seconds(video, data))
        return ModelOutput(value=embedding, usage=(usage,))

    def embed_text(self, text: str) -> ModelOutput[Embedding]:
        model_id = self._embedding_model_id
        with self._lock:
            self.calls["embed_text"] += 1
        terms = _terms(text)
        if not terms:
            raise InvalidInputError("text to embed has no words", field="text")
        embedding = Embedding.create(self._theme(terms), model_id=model_id, dimension=self._dimension)
        usage = ModelUsage(model_id=model_id, model_type=ModelType.MARENGO, input_tokens=len(terms))
        return ModelOutput(value=embedding, usage=(usage,))
