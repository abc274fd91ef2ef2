"""Captions burned into the picture (the document's `burned_captions`), drawn by Pillow
with the text overlays' own drawing (apps.studio.textimage): the words in the captions'
DejaVu font (Debian's fonts-dejavu-core), emoji in colour from Noto Color Emoji (libass,
which drew them before, draws no colour glyphs), white with a black outline, centred in
the bottom band and wrapped to the frame's width.

Each stretch of time with the same cues on screen is one transparent PNG the size of the
canvas (cues shown at once stack up, the first lowest); the stretches play as ONE input,
ffmpeg's concat demuxer reading an ffconcat list with each picture's duration, overlaid
over everything else (apps.studio.graph), so 2,000 cues are still one input. The words
are drawn as they are: nothing in them is markup."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from apps.studio import textimage

if TYPE_CHECKING:
    from apps.studio.document import BurnedCaptions
    from apps.studio.graph import Canvas

BOTTOM_MARGIN = 0.07  # of the height, below the last line
SIDE_MARGIN = 0.06  # of the width, each side
WORDS = "#ffffff"
OUTLINE = "#000000"


def wrap(text: str, font_path: Path, size: int, max_width: float) -> str:
    """`text` with line breaks added between words so no line is wider than `max_width`
    (a single longer word keeps its own line)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if line and textimage.line_width(trial, font_path, size) > max_width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return "\n".join(lines)


def _composite_clipped(base: Image.Image, picture: Image.Image, x: int, y: int) -> None:
    """alpha_composite at (x, y), the parts outside `base` cut off."""
    left, top = max(0, -x), max(0, -y)
    right = min(picture.width, base.width - x)
    bottom = min(picture.height, base.height - y)
    if right > left and bottom > top:
        base.alpha_composite(picture.crop((left, top, right, bottom)), (x + left, y + top))


def cues_image(captions: BurnedCaptions, shown: tuple[str, ...], canvas: Canvas) -> Image.Image:
    """The canvas-sized picture of the cues `shown` at one time."""
    from apps.studio.document import Text, font_path

    w, h = canvas.width, canvas.height
    path = font_path(captions.font)
    image = Image.new("RGBA", (w, h))
    bottom = h - round(h * BOTTOM_MARGIN)
    for words in shown:
        text = Text(text=words, font=captions.font, size=captions.size, colour=WORDS,
                    background=None, start_ms=0, end_ms=0, x=0.5, y=0.5)
        size = textimage.pixel_size(text, h)
        text = Text(text=wrap(words, path, size, w * (1 - 2 * SIDE_MARGIN)),
                    font=captions.font, size=captions.size, colour=WORDS, background=None,
                    start_ms=0, end_ms=0, x=0.5, y=0.5)
        picture = textimage.render(text, path, h, outline=OUTLINE)
        _composite_clipped(image, picture, round((w - picture.width) / 2),
                           bottom - picture.height)
        bottom -= picture.height
    return image


def write_images(captions: BurnedCaptions, canvas: Canvas, work: Path,
                 total_ms: int) -> Path:
    """The pictures of every stretch of the edit's `total_ms` and the ffconcat list that
    plays them in time; returns the list's path."""
    folder = work / "burned"
    folder.mkdir(exist_ok=True)
    times = sorted({0, total_ms, *(min(max(c.start_ms, 0), total_ms) for c in captions.cues),
                    *(min(c.end_ms, total_ms) for c in captions.cues)})
    names: dict[tuple[str, ...], str] = {}
    entries: list[tuple[str, int]] = []  # (file name, milliseconds)
    for start, end in itertools.pairwise(times):
        shown = tuple(c.text for c in captions.cues if c.start_ms <= start and c.end_ms >= end)
        if shown not in names:
            names[shown] = f"cues-{len(names):05d}.png"
            cues_image(captions, shown, canvas).save(folder / names[shown])
        name = names[shown]
        if entries and entries[-1][0] == name:
            entries[-1] = (name, entries[-1][1] + end - start)
        else:
            entries.append((name, end - start))
    lines = ["ffconcat version 1.0"]
    for name, ms in entries:
        lines += [f"file {name}", f"duration {ms / 1000:.3f}"]
    lines.append(f"file {entries[-1][0]}")  # the last duration counts only if listed again
    playlist = folder / "cues.ffconcat"
    playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return playlist
