"""A data directory holding many validated videos, written quickly through the library's own stores.

The records go into the real local stores (SQLite, media folder) as the pipeline leaves them —
validated, scored, in a mob, with a small real JPEG thumbnail — without running the analysis a
thousand times (the pages under test only read them).
"""

from __future__ import annotations

import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

THEMES = [("gotmilk", "skate"), ("gotmilk", "cereal"), ("milkmob", "dance"), ("gotmilk", "gym")]
COLOURS = [(26, 86, 184), (29, 107, 53), (164, 36, 28), (122, 75, 0), (90, 90, 90)]


def _thumbnail(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 180), colour).save(out, "JPEG", quality=70)
    return out.getvalue()


def seed_validated_videos(data_dir: Path, count: int) -> float:
    """``count`` validated videos (with thumbnails, in one of four mobs) in ``data_dir``; returns seconds."""
    import numpy as np

    from milkmobs.bootstrap import build
    from milkmobs.domain import Mob, ScoreBreakdown, ValidationResult, Video, VideoStatus
    from milkmobs.settings import Settings

    start = time.perf_counter()
    thumbnails = [_thumbnail(colour) for colour in COLOURS]
    now = datetime.now(UTC)
    with build(Settings(backend="local", local={"data_dir": data_dir}), media_processor=None) as app:
        ports = app.ports
        dimension = ports.index.dimension
        mobs = []
        for n, (tag, theme) in enumerate(THEMES):
            centroid = np.zeros(dimension, dtype=np.float32)
            centroid[n] = 1.0
            mob = Mob(
                mob_id=uuid.uuid4().hex,
                name=f"#{tag} {theme}",
                description=f"Videos with #{tag} about {theme}",
                centroid=centroid,
                video_count=len(range(n, count, len(THEMES))),
                example_hashtags=[tag, theme],
                created_at=now,
                updated_at=now,
            )
            ports.mobs.add(mob)
            mobs.append(mob)
        for i in range(count):
            video_id = uuid.uuid4().hex
            tag, theme = THEMES[i % len(THEMES)]
            created = now - timedelta(seconds=count - i)
            ports.videos.add(
                Video(
                    video_id=video_id,
                    user_id=f"user{i % 37}",
                    title=f"Clip {i}",
                    hashtags=[tag, theme],
                    status=VideoStatus.VALIDATED,
                    media_key=f"vid_{video_id}.mp4",
                    created_at=created,
                    updated_at=created,
                    completed_at=created,
                    thumbnail_key=ports.media.put_thumbnail(video_id, thumbnails[i % len(thumbnails)]),
                    validation=ValidationResult(
                        video_id=video_id,
                        score=0.9,
                        passed=True,
                        breakdown=ScoreBreakdown(visual=1.0, audio=0.5, ocr=1.0, hashtags=1.0),
                        reasons=["score 0.90 >= threshold 0.70: validated"],
                    ),
                    mob_id=mobs[i % len(mobs)].mob_id,
                )
            )
    return time.perf_counter() - start
