"""Which characters a font can draw: a text overlay's words (apps.studio.textimage adds the
colour emoji font for emoji) and burned-in captions (libass, DejaVu only). Text with a
character no font draws is refused before rendering (naming the characters) instead of
coming out with boxes. A glyph is missing when Pillow renders it exactly as the font's
.notdef glyph (asked with a private-use character)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

_PROBE_SIZE = 24
_NOT_A_CHARACTER = "\U0010fffd"


@lru_cache(maxsize=16)
def _font(path: str) -> tuple[ImageFont.FreeTypeFont, tuple[tuple[int, int], bytes]]:
    font = ImageFont.truetype(path, _PROBE_SIZE)
    mask = font.getmask(_NOT_A_CHARACTER)
    return font, (mask.size, bytes(mask))


@lru_cache(maxsize=4096)
def _has_glyph(path: str, char: str) -> bool:
    font, notdef = _font(path)
    mask = font.getmask(char)
    return (mask.size, bytes(mask)) != notdef


def missing_characters(path: Path, text: str) -> list[str]:
    """The distinct characters of `text` that the font at `path` cannot draw, in order."""
    seen: list[str] = []
    for char in text:
        if char.isspace() or char in seen:
            continue
        if not _has_glyph(str(path), char):
            seen.append(char)
    return seen
