"""A PNG picture of the mobs: a 2-D PCA projection of the embeddings, one colour per mob."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

_PALETTE = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207), (90, 90, 90),
]  # fmt: skip
_REJECTED = (170, 170, 170)


@dataclass(frozen=True)
class PlotPoint:
    """One video: its embedding, a short label and its mob (None: not in a mob)."""

    label: str
    vector: npt.NDArray[np.float32]
    mob_id: str | None


def pca_2d(vectors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The rows projected on their first two principal components (zeros where there are fewer)."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
    projected: npt.NDArray[np.float64] = coords
    return projected


def draw_mobs(points: Sequence[PlotPoint], mob_names: dict[str, str], path: Path, *, size: int = 720) -> Path:
    """Write the picture to ``path``; videos outside any mob are grey rings."""
    from PIL import Image, ImageDraw, ImageFont

    legend_rows = len(mob_names) + 1
    image = Image.new("RGB", (size, size + 22 * legend_rows + 16), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    colours = {mob_id: _PALETTE[i % len(_PALETTE)] for i, mob_id in enumerate(mob_names)}
    draw.text((12, 8), "milkmobs demo: embeddings (PCA, 2-D), coloured by mob", fill="black", font=font)
    if points:
        coords = pca_2d(np.array([p.vector for p in points], dtype=np.float64))
        low, high = coords.min(axis=0), coords.max(axis=0)
        span = np.where(high - low > 1e-9, high - low, 1.0)
        xy = 60 + (coords - low) / span * (size - 120)
        for point, (x, y) in zip(points, xy, strict=True):
            y = size - y  # image rows grow downwards
            if point.mob_id is None:
                draw.ellipse((x - 7, y - 7, x + 7, y + 7), outline=_REJECTED, width=2)
            else:
                draw.ellipse((x - 8, y - 8, x + 8, y + 8), fill=colours.get(point.mob_id, _REJECTED), outline="black")
            draw.text((x + 10, y - 7), point.label, fill=(60, 60, 60), font=font)
    y0 = size + 8
    for i, (mob_id, name) in enumerate(mob_names.items()):
        draw.ellipse((14, y0 + 22 * i, 28, y0 + 22 * i + 14), fill=colours[mob_id], outline="black")
        draw.text((36, y0 + 22 * i), name, fill="black", font=font)
    draw.ellipse((14, y0 + 22 * len(mob_names), 28, y0 + 22 * len(mob_names) + 14), outline=_REJECTED, width=2)
    draw.text((36, y0 + 22 * len(mob_names)), "in no mob (rejected or failed)", fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
