"""Signal descriptors of the LocalAnalyzer: colour, texture, motion, sound and hashed text tokens.

Every block is built so that a dot product means something: histograms are square-rooted
(Hellinger: the cosine of two blocks is their Bhattacharyya coefficient), scalars are soft-binned
(nearby values overlap, far values are orthogonal). The blocks are weighted, concatenated and sent
through one fixed orthonormal map to the configured dimension, so cosine geometry is kept exactly
when the dimension is at least the raw size (224) and approximately below it.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]
Frames = npt.NDArray[np.uint8]

HUE_BINS, CHROMA_LEVELS, GREY_LEVELS = 12, 2, 4
COLOUR_DIM = 2 * (HUE_BINS * CHROMA_LEVELS + GREY_LEVELS)  # top and bottom half of the frame
TEXTURE_DIM = 16
MOTION_DIM = 12
AUDIO_BANDS = 24
AUDIO_DIM = AUDIO_BANDS + 8 + 6 + 6
TEXT_DIM = 96
RAW_DIM = COLOUR_DIM + TEXTURE_DIM + MOTION_DIM + AUDIO_DIM + TEXT_DIM

#: Share of each block in a complete embedding (squared norms; they sum to 1). Sound gets a modest
#: share because a clip without a track has an empty sound block: the same scene with and without
#: sound then stays within cosine √(1 − 0.12) ≈ 0.94 of itself.
WEIGHTS = {"colour": 0.55, "texture": 0.10, "motion": 0.10, "audio": 0.12, "text": 0.13}
PROJECTION_SEED = 20_240_611
AUDIO_SAMPLE_RATE = 16_000

_HUE_KERNEL_BINS = 1.0
_STOPWORDS = frozenset({"the", "a", "an", "at", "of", "in", "on", "and", "or", "for", "to", "with", "is", "my"})
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _unit(v: npt.NDArray[np.float64]) -> Floats:
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm > 0 else np.zeros(v.shape, np.float32)


def _hellinger(counts: npt.NDArray[np.float64]) -> Floats:
    total = float(counts.sum())
    return _unit(np.sqrt(counts / total)) if total > 0 else np.zeros(counts.shape, np.float32)


def soft_bins(value: float, low: float, high: float, bins: int) -> Floats:
    """A unit vector over ``bins`` Gaussian bumps spread on [low, high]: neighbours overlap."""
    centres = np.linspace(low, high, bins)
    width = (high - low) / (bins - 1)
    x = min(max(value, low), high)
    return _unit(np.exp(-0.5 * ((x - centres) / width) ** 2))


def _small(frames: Frames, max_width: int = 160) -> npt.NDArray[np.float64]:
    """Area-average frames down to at most ``max_width`` pixels wide, as float RGB in [0, 1]."""
    n, h, w, _ = frames.shape
    f = max(1, w // max_width)
    h2, w2 = h // f, w // f
    blocks = frames[:, : h2 * f, : w2 * f, ::-1].reshape(n, h2, f, w2, f, 3).mean(axis=(2, 4))
    scaled: npt.NDArray[np.float64] = blocks / 255.0
    return scaled


def _colour_hist(rgb: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Hue (soft, 12 bins) × 2 brightness levels for coloured pixels, 4 grey levels for the rest."""
    r, g, b = rgb[..., 0].ravel(), rgb[..., 1].ravel(), rgb[..., 2].ravel()
    cmax, cmin = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    delta = cmax - cmin
    sat = np.where(cmax > 0, delta / np.maximum(cmax, 1e-9), 0.0)
    safe = np.maximum(delta, 1e-9)
    hue = np.where(cmax == r, ((g - b) / safe) % 6, np.where(cmax == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    chromatic = (sat >= 0.25) & (cmax >= 0.15)
    hist = np.zeros(HUE_BINS * CHROMA_LEVELS + GREY_LEVELS)
    # Each coloured pixel spreads over neighbouring hue bins (a circular Gaussian one bin wide), so
    # orange and red-orange are alike and orange and blue are not.
    offsets = (np.arange(HUE_BINS)[None, :] + 0.5) / HUE_BINS - hue[chromatic][:, None]
    offsets = (offsets + 0.5) % 1.0 - 0.5
    spread = np.exp(-0.5 * (offsets * HUE_BINS / _HUE_KERNEL_BINS) ** 2)
    spread /= spread.sum(axis=1, keepdims=True)
    level = (cmax[chromatic] >= 0.6).astype(int)
    for lv in range(CHROMA_LEVELS):
        hist[lv : HUE_BINS * CHROMA_LEVELS : CHROMA_LEVELS] = spread[level == lv].sum(axis=0)
    grey = np.minimum((cmax[~chromatic] * GREY_LEVELS).astype(int), GREY_LEVELS - 1)
    np.add.at(hist, HUE_BINS * CHROMA_LEVELS + grey, 1.0)
    return hist


@dataclass(frozen=True)
class VisualDescriptor:
    """Colour layout, texture and motion of the sampled frames (each a unit vector, or zeros)."""

    colour: Floats
    texture: Floats
    motion: Floats
    dominant_hue: str
    brightness: float
    motion_level: float


_HUE_NAMES = ("red", "orange", "yellow", "green", "green", "cyan", "blue", "blue", "purple", "magenta", "pink", "red")


def visual_descriptor(frames: Frames) -> VisualDescriptor:
    """Describe ``(n, h, w, 3)`` BGR frames."""
    rgb = _small(frames)
    half = rgb.shape[1] // 2
    top, bottom = _colour_hist(rgb[:, :half]), _colour_hist(rgb[:, half:])
    colour = _unit(np.concatenate([_hellinger(top), _hellinger(bottom)]).astype(np.float64))

    grey = rgb @ np.array([0.299, 0.587, 0.114])
    gy, gx = np.gradient(grey, axis=(1, 2))
    magnitude = np.hypot(gx, gy).ravel()
    mag_hist = np.histogram(np.log10(magnitude + 1e-4), bins=8, range=(-4.0, 0.0))[0].astype(np.float64)
    angle = (np.arctan2(gy, gx).ravel() % np.pi) / np.pi
    ori_hist = np.histogram(angle, bins=8, range=(0.0, 1.0), weights=magnitude)[0]
    texture = _unit(np.concatenate([_hellinger(mag_hist), _hellinger(ori_hist)]).astype(np.float64))

    if grey.shape[0] > 1:
        diffs = np.abs(np.diff(grey, axis=0))
        level, changed = float(diffs.mean()), float((diffs > 0.1).mean())
    else:
        level, changed = 0.0, 0.0
    motion_parts = [soft_bins(float(np.log10(level + 1e-3)), -3, -0.5, 6), soft_bins(changed, 0.0, 1.0, 6)]
    motion = _unit(np.concatenate(motion_parts).astype(np.float64))

    hist = top + bottom
    chroma = hist[: HUE_BINS * CHROMA_LEVELS].reshape(HUE_BINS, CHROMA_LEVELS).sum(axis=1)
    dominant = _HUE_NAMES[int(np.argmax(chroma))] if chroma.sum() > 0.25 * hist.sum() else "grey"
    return VisualDescriptor(colour, texture, motion, dominant, float(grey.mean()), level)


@dataclass(frozen=True)
class AudioDescriptor:
    """Spectral shape, loudness, noisiness and dynamics of the audio track (unit vector or zeros)."""

    vector: Floats
    loudness_dbfs: float


def audio_descriptor(samples: npt.NDArray[np.float32], sample_rate: int = AUDIO_SAMPLE_RATE) -> AudioDescriptor:
    """Describe mono ``samples`` in [-1, 1]. An empty track gives a zero vector."""
    size, hop = 1024, 512
    if samples.size < size:
        return AudioDescriptor(np.zeros(AUDIO_DIM, np.float32), -120.0)
    count = 1 + (samples.size - size) // hop
    idx = np.arange(size)[None, :] + hop * np.arange(count)[:, None]
    frames = samples[idx].astype(np.float64) * np.hanning(size)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    edges = np.geomspace(60.0, sample_rate / 2, AUDIO_BANDS + 1)
    band_of = np.digitize(freqs, edges) - 1
    mean_power = power.mean(axis=0)
    bands = np.array([mean_power[band_of == i].sum() for i in range(AUDIO_BANDS)])

    frame_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loudness = float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-12))
    spectrum = mean_power[1:] + 1e-12
    flatness = float(np.exp(np.mean(np.log(spectrum))) / np.mean(spectrum))
    spread = float(np.std(frame_db))
    parts = [
        _hellinger(bands) * np.sqrt(0.55),
        soft_bins(loudness, -60.0, 0.0, 8) * np.sqrt(0.15),
        soft_bins(flatness, 0.0, 1.0, 6) * np.sqrt(0.15),
        soft_bins(spread, 0.0, 20.0, 6) * np.sqrt(0.15),
    ]
    if loudness < -70:  # digital silence: no spectral shape to speak of
        parts[0] = np.zeros(AUDIO_BANDS, np.float32)
    return AudioDescriptor(_unit(np.concatenate(parts).astype(np.float64)), loudness)


def text_tokens(texts: Iterable[str]) -> list[tuple[str, float]]:
    """Weighted tokens: folded words, glued word pairs ("got milk" → "gotmilk") and 4-letter pieces.

    The pieces let "milk" meet "#gotmilk"; the glued pairs let "GOT MILK?" meet "#gotmilk".
    """
    out: list[tuple[str, float]] = []
    for text in texts:
        words = [w for w in (m.lower() for m in _WORD.findall(text)) if len(w) > 1 and w not in _STOPWORDS]
        out.extend((f"w:{w}", 1.0) for w in words)
        out.extend((f"w:{a}{b}", 0.7) for a, b in itertools.pairwise(words))
        for w in words:
            out.extend((f"g:{w[i : i + 4]}", 0.5) for i in range(len(w) - 3))
    return out


def text_descriptor(texts: Iterable[str]) -> Floats:
    """Signed feature hashing of ``text_tokens`` into ``TEXT_DIM`` buckets (unit vector or zeros)."""
    vector = np.zeros(TEXT_DIM)
    for token, weight in text_tokens(texts):
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % TEXT_DIM
        vector[bucket] += weight if digest[4] & 1 else -weight
    return _unit(vector)


def raw_vector(
    visual: VisualDescriptor | None, audio: AudioDescriptor | None, text: Floats | None
) -> npt.NDArray[np.float64]:
    """The weighted concatenation of the blocks; an absent block stays zero."""
    blocks = [
        (visual.colour if visual else None, COLOUR_DIM, "colour"),
        (visual.texture if visual else None, TEXTURE_DIM, "texture"),
        (visual.motion if visual else None, MOTION_DIM, "motion"),
        (audio.vector if audio else None, AUDIO_DIM, "audio"),
        (text, TEXT_DIM, "text"),
    ]
    parts = [
        np.sqrt(WEIGHTS[name]) * block.astype(np.float64) if block is not None else np.zeros(size)
        for block, size, name in blocks
    ]
    return np.concatenate(parts)


@cache
def projection(dimension: int) -> npt.NDArray[np.float64]:
    """A fixed ``(dimension, RAW_DIM)`` map with orthonormal columns (or rows, below RAW_DIM).

    Seeded, and with QR signs fixed, so every process and machine embeds into the same space.
    """
    rng = np.random.default_rng(PROJECTION_SEED)
    tall, wide = max(dimension, RAW_DIM), min(dimension, RAW_DIM)
    q, r = np.linalg.qr(rng.standard_normal((tall, wide)))
    q = q * np.sign(np.diag(r))[None, :]
    return q if dimension >= RAW_DIM else q.T


def project(raw: npt.NDArray[np.float64], dimension: int) -> Floats:
    """``raw`` mapped to ``dimension`` (not normalised; ``Embedding.create`` does that)."""
    return (projection(dimension) @ raw).astype(np.float32)
