"""A small, deterministic corpus of themed short videos, made with the ffmpeg binary's lavfi sources.

Each theme has its own look (colours, texture, motion) and its own sound, so a visual-audio
descriptor can tell themes apart. Within a theme the clips differ (seeds, palettes, speed,
caption or not, sound or not). Captions are rendered with Pillow's bundled font and overlaid by
ffmpeg, so the frames are the same on every machine whatever fonts it has installed.
"""

from __future__ import annotations

import subprocess
import tempfile
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from milkmobs.adapters.local.media import ffmpeg_exe
from milkmobs.domain import MediaError

WIDTH, HEIGHT, FPS = 320, 180, 15


@dataclass(frozen=True)
class Theme:
    """A visual and audio look shared by the clips of one theme."""

    name: str
    tags: tuple[str, ...]
    title: str
    video_sources: tuple[str, ...]  # lavfi graphs; {w},{h},{r},{d},{seed} are filled in
    audio_source: str  # lavfi graph; {d} is filled in


@dataclass(frozen=True)
class CorpusVideo:
    """One generated clip and the metadata a user would submit with it."""

    path: Path
    theme: str
    title: str
    description: str
    hashtags: list[str] = field(default_factory=list)
    caption: str | None = None
    has_audio: bool = True

    @property
    def campaign_entry(self) -> bool:
        """Captioned and tagged: the clips that should pass the Got Milk rules."""
        return self.caption is not None and any(t in {"gotmilk", "milkmob"} for t in self.hashtags)


THEMES: tuple[Theme, ...] = (
    Theme(
        name="sunset",
        tags=("sunset", "beach"),
        title="Sunset at the beach",
        video_sources=(
            "gradients=s={w}x{h}:r={r}:d={d}:c0=0xff7b00:c1=0x8e2de2:speed=0.02:seed={seed}",
            "gradients=s={w}x{h}:r={r}:d={d}:c0=0xff9a3c:c1=0xc2185b:speed=0.03:seed={seed}",
            "gradients=s={w}x{h}:r={r}:d={d}:c0=0xffb347:c1=0x7b1fa2:speed=0.015:seed={seed}",
        ),
        audio_source="anoisesrc=d={d}:color=pink:amplitude=0.25:seed=7,lowpass=f=900",
    ),
    Theme(
        name="night",
        tags=("city", "night"),
        title="City lights at night",
        video_sources=tuple(
            f"cellauto=s={{w}}x{{h}}:r={{r}}:rule={rule}:random_fill_ratio={fill}:scroll=1:seed={{seed}},"
            "lutrgb=r='val*0.95':g='val*0.8':b='val*0.35+45'"
            for rule, fill in ((18, 0.08), (22, 0.06), (126, 0.1))
        ),
        audio_source="sine=f=220:beep_factor=4:d={d},volume=0.6",
    ),
    Theme(
        name="park",
        tags=("park", "outdoors"),
        title="Afternoon in the park",
        video_sources=(
            "life=s={w}x{h}:r={r}:seed={seed}:ratio=0.35:mold=10:life_color=0x7cb342:death_color=0x1b3d12:mold_color=0x33691e",
            "life=s={w}x{h}:r={r}:seed={seed}:ratio=0.25:mold=20:life_color=0x9ccc65:death_color=0x254d1a:mold_color=0x2e7d32",
            "life=s={w}x{h}:r={r}:seed={seed}:ratio=0.45:mold=5:life_color=0x8bc34a:death_color=0x1a3311:mold_color=0x558b2f",
        ),
        audio_source="aevalsrc='0.4*sin(2*PI*(1800+700*sin(2*PI*6*t))*t)*gt(sin(2*PI*2*t),0)':s=22050:d={d}",
    ),
    Theme(
        name="snow",
        tags=("snow", "winter"),
        title="First snow of winter",
        video_sources=(
            "gradients=s={w}x{h}:r={r}:d={d}:c0=0xe3f2fd:c1=0x90caf9:speed=0.05:seed={seed},format=yuv420p,noise=c0s=22:c0f=t",
            "gradients=s={w}x{h}:r={r}:d={d}:c0=0xffffff:c1=0x81d4fa:speed=0.04:seed={seed},format=yuv420p,noise=c0s=18:c0f=t",
            "gradients=s={w}x{h}:r={r}:d={d}:c0=0xeceff1:c1=0xb3e5fc:speed=0.06:seed={seed},format=yuv420p,noise=c0s=26:c0f=t",
        ),
        audio_source="anoisesrc=d={d}:color=white:amplitude=0.1:seed=3,highpass=f=3000",
    ),
)

#: Per clip of a theme: (caption, campaign hashtags, has audio). The last clip takes no part.
CLIP_PLAN: tuple[tuple[str | None, tuple[str, ...], bool], ...] = (
    ("GOT MILK?", ("gotmilk", "milkmob"), True),
    ("GOT MILK? #milkmob", ("gotmilk",), False),
    ("GOT MILK?", ("milkmob",), True),
    (None, (), False),
)


def _caption_png(text: str, path: Path, *, top: bool) -> None:
    """A transparent frame-sized PNG with ``text`` in bold white on a dark band."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=28)
    left, upper, right, lower = draw.textbbox((0, 0), text, font=font, stroke_width=2)
    x = (WIDTH - (right - left)) // 2
    y = 12 if top else HEIGHT - (lower - upper) - 18
    draw.rectangle((x - 8, y - 4, x + (right - left) + 8, y + (lower - upper) + 10), fill=(0, 0, 0, 150))
    draw.text((x - left, y - upper), text, font=font, fill=(255, 255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    image.save(path)


def _encode(video: CorpusVideo, source: str, audio: str | None, seconds: float, workdir: Path) -> None:
    cmd = [ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i", source]
    graph = "[0:v]format=yuv420p"
    inputs = 1
    if video.caption is not None:
        png = workdir / f"{video.path.stem}.png"
        _caption_png(video.caption, png, top=zlib.crc32(video.path.stem.encode()) % 2 == 0)
        cmd += ["-loop", "1", "-i", str(png)]
        graph = f"[0:v][{inputs}:v]overlay=0:0:shortest=1,format=yuv420p"
        inputs += 1
    if audio is not None:
        cmd += ["-f", "lavfi", "-i", audio]
    cmd += ["-filter_complex", graph + "[v]", "-map", "[v]"]
    if audio is not None:
        cmd += ["-map", f"{inputs}:a", "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-ar", "22050"]
    cmd += ["-t", f"{seconds:.2f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-threads", "1"]
    cmd += ["-fflags", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart", str(video.path)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise MediaError(f"could not generate demo clip {video.path.name}: {done.stderr.strip()[-300:]}")


def generate_corpus(
    out_dir: Path, *, themes: Sequence[Theme] = THEMES, seconds: float = 3.0, workers: int = 2
) -> list[CorpusVideo]:
    """Write ``len(themes) × len(CLIP_PLAN)`` mp4 clips into ``out_dir`` and describe them.

    Deterministic: the same arguments give the same frames and the same metadata. The list comes
    with the themes interleaved, in the order the demo submits the clips.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[CorpusVideo, str, str | None]] = []
    for theme in themes:
        for i, (caption, campaign_tags, with_audio) in enumerate(CLIP_PLAN):
            source = theme.video_sources[i % len(theme.video_sources)]
            source = source.format(w=WIDTH, h=HEIGHT, r=FPS, d=seconds + 0.5, seed=101 + 17 * i)
            hashtags = [*campaign_tags, theme.tags[i % len(theme.tags)]] if campaign_tags else []
            description = f"{theme.title.lower()}, take {i + 1}"
            if campaign_tags:  # entries name the campaign's action (the generated soundtracks hold no speech)
                description = "drinking milk: " + description + " for the milk mob"
            clip = CorpusVideo(
                path=out_dir / f"{theme.name}_{i + 1}.mp4",
                theme=theme.name,
                title=f"{theme.title} #{i + 1}",
                description=description,
                hashtags=hashtags,
                caption=caption,
                has_audio=with_audio,
            )
            jobs.append((clip, source, theme.audio_source.format(d=seconds + 0.5) if with_audio else None))
    with tempfile.TemporaryDirectory(prefix="milkmobs-corpus-") as tmp, ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda job: _encode(job[0], job[1], job[2], seconds, Path(tmp)), jobs))
    # Themes interleaved (sunset_1, night_1, …, sunset_2, …): mobs must form from the content,
    # not from the order of arrival.
    per_theme = len(CLIP_PLAN)
    return [jobs[t * per_theme + i][0] for i in range(per_theme) for t in range(len(themes))]
