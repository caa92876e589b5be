"""The demo's picture of the mobs: a thumbnail at each point, labels that never overlap, and a title
and axes that say what the picture shows."""

from __future__ import annotations

import io
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

from milkmobs.demo.plot import Box, PlotPoint, draw_mobs, layout  # noqa: E402

COLOURS = [(230, 20, 20), (20, 200, 20), (20, 20, 230), (210, 210, 20)]


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 90), colour).save(out, "JPEG", quality=95)
    return out.getvalue()


def _points(per_theme: int, spread: float, seed: int = 0) -> list[PlotPoint]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(COLOURS), 64))
    return [
        PlotPoint(f"theme{t}_clip_{i}", (centres[t] + spread * rng.normal(size=64)).astype(np.float32),
                  f"mob{t}" if i else None, _jpeg(colour))
        for t, colour in enumerate(COLOURS)
        for i in range(per_theme)
    ]  # fmt: skip


def _whole(box_a: Box, box_b: Box) -> Box:
    return Box(min(box_a.left, box_b.left), box_a.top, max(box_a.right, box_b.right), box_b.bottom)


@pytest.mark.parametrize(("per_theme", "spread"), [(4, 0.01), (10, 0.0), (12, 0.3)])
def test_no_two_labels_or_thumbnails_overlap(per_theme: int, spread: float) -> None:
    plan = layout(_points(per_theme, spread))
    assert len(plan.placed) == per_theme * len(COLOURS)
    boxes = [b for p in plan.placed for b in (p.thumbnail, p.label)]
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    dots = [Box(p.dot[0] - 4, p.dot[1] - 4, p.dot[0] + 4, p.dot[1] + 4) for p in plan.placed]
    for placed in plan.placed:  # no thumbnail or label hides a dot, its own video's included
        assert not any(d.overlaps(b) for d in dots for b in (placed.thumbnail, placed.label)), placed.text
    canvas = Box(0, 0, plan.width, plan.height)
    assert all(b.inside(canvas) for b in boxes)


def test_each_point_has_its_own_thumbnail_near_it(tmp_path: Path) -> None:
    points = _points(4, 0.01)
    path = draw_mobs(points, {f"mob{t}": f"Mob {t}" for t in range(len(COLOURS))}, tmp_path / "mobs.png")
    plan = layout(points)
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    for placed in plan.placed:
        box = placed.thumbnail
        inner = pixels[round(box.top) + 3 : round(box.bottom) - 3, round(box.left) + 3 : round(box.right) - 3]
        colour = COLOURS[int(placed.point.label[5])]
        assert np.abs(inner.reshape(-1, 3).mean(axis=0) - colour).max() < 12, placed.point.label
        centre = ((box.left + box.right) / 2, (box.top + box.bottom) / 2)
        assert np.hypot(centre[0] - placed.dot[0], centre[1] - placed.dot[1]) < 160  # beside its own point


def test_the_title_and_axes_say_what_the_picture_shows() -> None:
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    points = _points(4, 0.3)
    plan = layout(points)
    pca = sklearn_decomposition.PCA(n_components=2).fit(np.array([p.vector for p in points]))
    shares = pca.explained_variance_ratio_
    assert "16 videos placed by their embeddings" in plan.title[0]
    assert "frame colour = mob" in plan.title[1]
    assert plan.x_axis.startswith("horizontal axis")
    assert f"1st principal component of the embeddings ({shares[0]:.0%}" in plan.x_axis
    assert plan.y_axis.startswith("vertical axis") and f"2nd principal component ({shares[1]:.0%}" in plan.y_axis


def test_a_missing_or_broken_thumbnail_still_draws(tmp_path: Path) -> None:
    points = [
        PlotPoint("a", np.ones(8, np.float32), None, None),
        PlotPoint("b", np.arange(8, dtype=np.float32), None, b"not a jpeg"),
    ]
    assert draw_mobs(points, {}, tmp_path / "p.png").is_file()
