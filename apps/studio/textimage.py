"""Text overlays drawn by Pillow into transparent PNGs, with colour emoji, which the render
overlays at their place and time (apps.studio.graph). ffmpeg's drawtext takes one font and
cannot draw colour glyphs, so the words and their emoji are laid out here:

- the text in the overlay's DejaVu font (`document.FONTS`, Debian's fonts-dejavu-core),
  shaped by Pillow's raqm layout (HarfBuzz, FriBidi): Arabic joins, RTL reads right to left;
- emoji in Noto Color Emoji (Debian's fonts-noto-color-emoji, `EMOJI_FONT`), a bitmap
  font with one strike at `EMOJI_STRIKE` pixels, drawn in colour (`embedded_color`) and
  scaled to the text's size; ZWJ sequences, skin tones, flags and keycaps are single
  glyphs where the font has them;
- a line mixing both is cut into runs (text / emoji, one embedding level each) put in
  visual order by the Unicode bidi algorithm (FriBidi's levels, rule L2), so emoji in a
  Hebrew or Arabic sentence sit where a browser puts them.

Which clusters are emoji: those with emoji presentation (U+1F389 🎉, or any with U+FE0F,
a keycap, a skin tone, a ZWJ or a flag), and pictographs the text font lacks. A cluster
with U+FE0E asks for text presentation. `unrenderable` names what neither font can draw
(refused before rendering, `selectors.document_refusals`)."""

from __future__ import annotations

import ctypes
import ctypes.util
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import regex  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

from apps.studio.fonts import missing_characters

if TYPE_CHECKING:
    from apps.studio.document import Text

EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_STRIKE = 109  # the only bitmap size of Noto Color Emoji

_CLUSTER = regex.compile(r"\X")
# presentation as emoji: by default, or asked by VS16 / keycap / skin tone / ZWJ / flags
_EMOJI_DEFAULT = regex.compile(r"^\p{Emoji_Presentation}")
_EMOJI_ASKED = regex.compile(
    r"^\p{Emoji}.*[\uFE0F\u20E3\u200D\p{Emoji_Modifier}]|^\p{Regional_Indicator}{2}")
_PICTOGRAPH = regex.compile(r"^\p{Extended_Pictographic}")


@lru_cache(maxsize=64)
def _text_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.RAQM)


@lru_cache(maxsize=1)
def _emoji_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(EMOJI_FONT), EMOJI_STRIKE,
                              layout_engine=ImageFont.Layout.RAQM)


def emoji_available() -> bool:
    return EMOJI_FONT.is_file()


@lru_cache(maxsize=4096)
def _emoji_drawable(cluster: str) -> bool:
    """The colour font has a glyph for `cluster` (or for each part of a sequence it does
    not know as one, as browsers draw it): its picture is not empty."""
    if not emoji_available():
        return False
    font = _emoji_font()
    for part in cluster.split("\u200d"):
        core = part.replace("\ufe0f", "")
        if not core:
            continue
        left, top, right, bottom = font.getbbox(part)
        if right <= left or bottom <= top:
            return False
    return True


def _is_emoji(cluster: str, font_path: Path) -> bool:
    if "\ufe0e" in cluster:  # text presentation asked for
        return False
    if _EMOJI_DEFAULT.match(cluster) or _EMOJI_ASKED.match(cluster):
        return True
    return bool(_PICTOGRAPH.match(cluster)) and bool(missing_characters(font_path, cluster))


def clusters(text: str, font_path: Path) -> list[tuple[str, bool]]:
    """`text` as grapheme clusters, each with whether it is drawn as a colour emoji."""
    return [(c, _is_emoji(c, font_path)) for c in _CLUSTER.findall(text)]


def unrenderable(font_path: Path, text: str) -> list[str]:
    """What of `text` neither the font nor the colour emoji font can draw, in order."""
    seen: list[str] = []
    for cluster, emoji in clusters(text, font_path):
        if emoji:
            missing = [] if _emoji_drawable(cluster) else [cluster]
        else:
            missing = missing_characters(font_path, cluster.replace("\ufe0e", ""))
        for item in missing:
            if item not in seen:
                seen.append(item)
    return seen


# --- bidi: FriBidi's embedding levels (the library Pillow's raqm layout uses) -------------

_FRIBIDI_PAR_ON = 0x40  # the paragraph's direction from its first strong character


@lru_cache(maxsize=1)
def _fribidi() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("fribidi")
    try:
        lib = ctypes.CDLL(name or "libfribidi.so.0")
    except OSError:
        return None
    lib.fribidi_get_bidi_types.restype = None
    lib.fribidi_get_par_embedding_levels_ex.restype = ctypes.c_int8
    return lib


def embedding_levels(text: str) -> list[int]:
    """The Unicode bidi algorithm's level of each character of one line (even: left to
    right, odd: right to left). Without FriBidi: the first strong character's direction."""
    n = len(text)
    lib = _fribidi()
    if lib is None or n == 0:
        rtl = next((unicodedata.bidirectional(c) in ("R", "AL") for c in text
                    if unicodedata.bidirectional(c) in ("L", "R", "AL")), False)
        return [1 if rtl else 0] * n
    chars = (ctypes.c_uint32 * n)(*(ord(c) for c in text))
    types = (ctypes.c_uint32 * n)()
    lib.fribidi_get_bidi_types(chars, n, types)
    base = ctypes.c_uint32(_FRIBIDI_PAR_ON)
    levels = (ctypes.c_int8 * n)()
    if not lib.fribidi_get_par_embedding_levels_ex(types, None, n, ctypes.byref(base), levels):
        return [0] * n
    return list(levels)


@dataclass(frozen=True)
class Run:
    text: str
    emoji: bool
    level: int


def visual_runs(line: str, font_path: Path) -> list[Run]:
    """One line cut into runs of one kind and level, in visual order (left to right)."""
    parts = clusters(line, font_path)
    levels = embedding_levels(line)
    runs: list[Run] = []
    i = 0
    for cluster, emoji in parts:
        level = levels[i] if i < len(levels) else 0
        i += len(cluster)
        if runs and runs[-1].emoji == emoji and runs[-1].level == level:
            runs[-1] = Run(runs[-1].text + cluster, emoji, level)
        else:
            runs.append(Run(cluster, emoji, level))
    if not runs:
        return runs
    # L2: from the highest level to the lowest odd one, reverse every sequence at or above it
    top = max(r.level for r in runs)
    lowest_odd = min((r.level for r in runs if r.level % 2), default=top + 1)
    for level in range(top, lowest_odd - 1, -1):
        out: list[Run] = []
        stretch: list[Run] = []
        for run in runs:
            if run.level >= level:
                stretch.append(run)
            else:
                out += stretch[::-1]
                stretch = []
                out.append(run)
        runs = out + stretch[::-1]
    return runs


# --- drawing -----------------------------------------------------------------------------


def _rgba(colour: str) -> tuple[int, int, int, int]:
    value = colour.lstrip("#")
    alpha = int(value[6:8], 16) if len(value) == 8 else 255
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha


def pixel_size(text: Text, canvas_height: int) -> int:
    """The font's size in pixels: the text's `size` is a fraction of the video's height."""
    return max(8, int(canvas_height * text.size))


def _emoji_image(run: str, scale: float, alpha: int) -> Image.Image:
    font = _emoji_font()
    width = max(1, round(font.getlength(run)))
    ascent, descent = font.getmetrics()
    big = Image.new("RGBA", (width, ascent + descent))
    ImageDraw.Draw(big).text((0, ascent), run, font=font, anchor="ls", embedded_color=True)
    small = big.resize((max(1, round(width * scale)), max(1, round((ascent + descent) * scale))),
                       Image.Resampling.LANCZOS)
    if alpha < 255:
        small.putalpha(small.getchannel("A").point(lambda a: a * alpha // 255))
    return small


def _pieces(line: str, font_path: Path, font: ImageFont.FreeTypeFont,
            scale: float) -> list[tuple[Run, float]]:
    """A line's runs in visual order, each with its width in pixels."""
    pieces: list[tuple[Run, float]] = []
    for run in visual_runs(line, font_path):
        if run.emoji:
            width = _emoji_font().getlength(run.text) * scale
        else:
            width = font.getlength(run.text, direction="rtl" if run.level % 2 else "ltr")
        pieces.append((run, width))
    return pieces


def line_width(line: str, font_path: Path, size: int) -> float:
    """How wide `line` is drawn at `size` pixels (words and emoji), for wrapping."""
    return sum(w for _, w in _pieces(line, font_path, _text_font(str(font_path), size),
                                     size / EMOJI_STRIKE))


def render(text: Text, font_path: Path, canvas_height: int, *,
           outline: str | None = None) -> Image.Image:
    """The overlay as an RGBA image as tall as its lines (plus the box's border, if it has
    a box), centred on the text's place by the render. With `outline` (a colour) the words
    are drawn with a border of that colour, a twelfth of the size (burned-in captions)."""
    size = pixel_size(text, canvas_height)
    font = _text_font(str(font_path), size)
    scale = size / EMOJI_STRIKE
    ascent, descent = font.getmetrics()
    e_ascent, e_descent = (round(m * scale) for m in _emoji_font().getmetrics()) \
        if emoji_available() else (0, 0)
    stroke = max(1, round(size / 12)) if outline else 0
    fill = _rgba(text.colour)
    lines = []
    for line in text.text.split("\n"):
        pieces = _pieces(line, font_path, font, scale)
        has_emoji = any(r.emoji for r, _ in pieces)
        up = max(ascent, e_ascent) if has_emoji else ascent
        down = max(descent, e_descent) if has_emoji else descent
        lines.append((pieces, sum(w for _, w in pieces), up, down))
    pad = size // 4 if text.background else stroke
    width = max(1, round(max(w for _, w, _, _ in lines))) + 2 * pad
    height = sum(up + down for _, _, up, down in lines) + 2 * pad
    image = Image.new("RGBA", (width, height),
                      _rgba(text.background) if text.background else (0, 0, 0, 0))
    # the words' coverage first, then their colour through it: drawn straight onto a
    # transparent image, their antialiased edges would turn dark
    mask = Image.new("L", image.size)
    draw = ImageDraw.Draw(mask)
    border = Image.new("L", image.size) if outline else None
    border_draw = ImageDraw.Draw(border) if border is not None else None
    emoji: list[tuple[Image.Image, tuple[int, int]]] = []
    top = pad
    for pieces, line_width_px, up, down in lines:
        x = pad + (width - 2 * pad - line_width_px) / 2  # each line centred
        baseline = top + up
        for run, run_width in pieces:
            if run.emoji:
                emoji.append((_emoji_image(run.text, scale, fill[3]),
                              (round(x), baseline - e_ascent)))
            elif run.text.strip():
                direction = "rtl" if run.level % 2 else "ltr"
                draw.text((x, baseline), run.text, font=font, fill=255, anchor="ls",
                          direction=direction)
                if border_draw is not None:
                    border_draw.text((x, baseline), run.text, font=font, fill=255,
                                     anchor="ls", direction=direction, stroke_width=stroke,
                                     stroke_fill=255)
            x += run_width
        top += up + down
    if border is not None and outline is not None:
        edge = _rgba(outline)
        ring = Image.new("RGBA", image.size, (*edge[:3], 0))
        ring.putalpha(border.point(lambda a: a * edge[3] // 255))
        image.alpha_composite(ring)
    words = Image.new("RGBA", image.size, (*fill[:3], 0))
    words.putalpha(mask.point(lambda a: a * fill[3] // 255))
    image.alpha_composite(words)
    for picture, place in emoji:
        image.alpha_composite(picture, place)
    return image


def write_images(texts: list[Text], font_paths: list[Path], canvas_height: int,
                 work: Path) -> list[Path]:
    """One PNG per text overlay in `work`, for the render's inputs."""
    paths = []
    for i, (text, path) in enumerate(zip(texts, font_paths, strict=True)):
        out = work / f"text-{i}.png"
        render(text, path, canvas_height).save(out)
        paths.append(out)
    return paths
