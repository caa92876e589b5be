"""A PNG picture of the mobs: every video's thumbnail placed by its embedding (a 2-D PCA projection),
framed in its mob's colour, with its name underneath; no two labels or thumbnails overlap.

Each video's dot sits at its projected position; its thumbnail and label go to the nearest free spot
around it, joined to the dot by a thin line when they had to move.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from PIL import ImageFont

_PALETTE = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207), (90, 90, 90),
]  # fmt: skip
_REJECTED = (170, 170, 170)
_MARGIN = 70  # room for the axis labels around the plot area
_HEADER = 64  # room for the title
_LABEL_CHARS = 18


@dataclass(frozen=True)
class PlotPoint:
    """One video: a short label, its embedding, its mob (None: not in a mob) and its JPEG thumbnail."""

    label: str
    vector: npt.NDArray[np.float32]
    mob_id: str | None
    thumbnail: bytes | None = None


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        across = self.left < other.right and other.left < self.right
        return across and self.top < other.bottom and other.top < self.bottom

    def inside(self, outer: Box) -> bool:
        across = self.left >= outer.left and self.right <= outer.right
        return across and self.top >= outer.top and self.bottom <= outer.bottom


@dataclass(frozen=True)
class Placed:
    """Where one point went: its dot, its thumbnail and its label (the two boxes never overlap others)."""

    point: PlotPoint
    dot: tuple[float, float]
    thumbnail: Box
    label: Box
    text: str


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    title: tuple[str, str]
    x_axis: str
    y_axis: str
    placed: list[Placed]


def pca_2d(vectors: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], tuple[float, float]]:
    """The rows on their first two principal components (zeros where there are fewer), and the
    share of the variance each of the two explains."""
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2)), (0.0, 0.0)
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
    variance = singular**2
    total = float(variance.sum()) or 1.0
    shares = [float(v) / total for v in variance[:2]] + [0.0, 0.0]
    projected: npt.NDArray[np.float64] = coords
    return projected, (shares[0], shares[1])


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _candidates(x: float, y: float, step: float, limit: float) -> list[tuple[float, float]]:
    """Spots around (x, y), nearest first: the point itself, then rings of 16 directions."""
    spots = [(x, y)]
    radius = step
    while radius <= limit:
        angles = [2 * math.pi * k / 16 for k in range(16)]
        spots += [(x + radius * math.cos(a), y + radius * math.sin(a)) for a in angles]
        radius += step
    return spots


def label_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font: the same text widths on every machine."""
    from PIL import ImageFont

    return ImageFont.load_default(size=12)


def layout(points: Sequence[PlotPoint], *, size: int = 820) -> Layout:
    """Where every dot, thumbnail and label goes; boxes are placed greedily, nearest free spot first."""
    font = label_font()
    thumb_w = 64 if len(points) <= 40 else 40
    thumb_h = thumb_w * 9 // 16
    label_h = 14
    width = height = size + 2 * _MARGIN
    height += _HEADER
    area = Box(_MARGIN, _HEADER + _MARGIN // 2, width - _MARGIN // 2, height - _MARGIN)
    coords, (pc1, pc2) = pca_2d(np.array([p.vector for p in points], dtype=np.float64).reshape(len(points), -1))
    xs = ys = np.zeros(len(points))
    if len(points):
        low, high = coords.min(axis=0), coords.max(axis=0)
        span = np.where(high - low > 1e-9, high - low, 1.0)
        pad = thumb_w  # keep dots far enough from the edges for a thumbnail beside them
        unit = (coords - low) / span
        xs = area.left + pad / 2 + unit[:, 0] * (area.right - area.left - pad)
        ys = area.bottom - pad / 2 - unit[:, 1] * (area.bottom - area.top - pad)  # up is positive
    dots = [Box(x - 5, y - 5, x + 5, y + 5) for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]
    occupied: list[Box] = []
    placed: list[Placed] = []
    for i in sorted(range(len(points)), key=lambda j: (ys[j], xs[j])):
        point, x, y = points[i], float(xs[i]), float(ys[i])
        obstacles = occupied + dots  # every dot stays visible, its own too (a line joins it to its thumbnail)
        text = _short(point.label)
        text_w = font.getlength(text)
        box_w = max(thumb_w, text_w) + 4
        box_h = thumb_h + label_h + 4
        chosen: tuple[Box, Box] | None = None
        for cx, cy in _candidates(x, y, step=max(thumb_h, 12) / 2, limit=2 * size):
            whole = Box(cx - box_w / 2, cy - thumb_h / 2 - 2, cx + box_w / 2, cy - thumb_h / 2 + box_h)
            if whole.inside(area) and not any(whole.overlaps(other) for other in obstacles):
                thumb = Box(cx - thumb_w / 2, cy - thumb_h / 2, cx + thumb_w / 2, cy + thumb_h / 2)
                label = Box(cx - text_w / 2, cy + thumb_h / 2 + 2, cx + text_w / 2, cy + thumb_h / 2 + 2 + label_h)
                chosen = (thumb, label)
                occupied.append(whole)
                break
        if chosen is None:
            raise ValueError(f"no room left in the picture for {point.label!r}: too many videos to draw")
        placed.append(Placed(point, (x, y), chosen[0], chosen[1], text))
    title = (
        f"milkmobs demo: {len(points)} videos placed by their embeddings (what the analyzer saw and heard)",
        "close together = alike; frame colour = mob; grey frame = in no mob (rejected or failed)",
    )
    return Layout(
        width,
        height,
        title,
        f"horizontal axis, left to right: 1st principal component of the embeddings ({pc1:.0%} of their variance)",
        f"vertical axis, bottom to top: 2nd principal component ({pc2:.0%} of the variance)",
        placed,
    )


def _thumbnail(data: bytes | None, box: Box) -> object | None:
    from PIL import Image, UnidentifiedImageError

    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB").resize((round(box.right - box.left), round(box.bottom - box.top)))
    except (UnidentifiedImageError, OSError):
        return None


def draw_mobs(points: Sequence[PlotPoint], mob_names: dict[str, str], path: Path, *, size: int = 820) -> Path:
    """Write the picture to ``path``: thumbnails framed in their mob's colour, a legend of the mobs."""
    from PIL import Image, ImageDraw, ImageFont

    font, title_font = label_font(), ImageFont.load_default(size=15)
    plan = layout(points, size=size)
    legend_rows = len(mob_names) + 1
    image = Image.new("RGB", (plan.width, plan.height + 22 * legend_rows + 16), "white")
    draw = ImageDraw.Draw(image)
    colours = {mob_id: _PALETTE[i % len(_PALETTE)] for i, mob_id in enumerate(mob_names)}
    draw.text((14, 10), plan.title[0], fill="black", font=title_font)
    draw.text((14, 32), plan.title[1], fill=(70, 70, 70), font=font)
    bottom = plan.height - _MARGIN
    draw.rectangle((_MARGIN, _HEADER + _MARGIN // 2, plan.width - _MARGIN // 2, bottom), outline=(200, 200, 200))
    draw.text((_MARGIN, bottom + 10), plan.x_axis, fill=(60, 60, 60), font=font)
    draw.text((_MARGIN, _HEADER + _MARGIN // 2 - 18), plan.y_axis, fill=(60, 60, 60), font=font)
    for item in plan.placed:  # leader lines and dots first: thumbnails and labels go over them
        colour = colours.get(item.point.mob_id or "", _REJECTED)
        x, y = item.dot
        centre = ((item.thumbnail.left + item.thumbnail.right) / 2, (item.thumbnail.top + item.thumbnail.bottom) / 2)
        draw.line((x, y, *centre), fill=colour, width=1)
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=colour, outline="black")
    for item in plan.placed:
        colour = colours.get(item.point.mob_id or "", _REJECTED)
        box = item.thumbnail
        picture = _thumbnail(item.point.thumbnail, box)
        if picture is not None:
            image.paste(picture, (round(box.left), round(box.top)))  # type: ignore[arg-type]
        else:
            draw.rectangle((box.left, box.top, box.right, box.bottom), fill=(235, 235, 235))
        draw.rectangle((box.left - 2, box.top - 2, box.right + 2, box.bottom + 2), outline=colour, width=3)
        draw.text((item.label.left, item.label.top), item.text, fill=(40, 40, 40), font=font)
    y0 = plan.height + 8
    for i, (mob_id, name) in enumerate(mob_names.items()):
        draw.rectangle((14, y0 + 22 * i, 28, y0 + 22 * i + 14), outline=colours[mob_id], width=3)
        draw.text((36, y0 + 22 * i), name, fill="black", font=font)
    row = y0 + 22 * len(mob_names)
    draw.rectangle((14, row, 28, row + 14), outline=_REJECTED, width=3)
    draw.text((36, row), "in no mob (rejected or failed)", fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
