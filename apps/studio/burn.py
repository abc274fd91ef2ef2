"""Captions burned into the picture (the document's `burned_captions`): written as an ASS
script sized to the render's canvas and drawn by ffmpeg's `ass` filter (libass) with a
DejaVu font from Debian's fonts-dejavu-core, the same fonts as the text overlays
(`document.FONT_DIR`, given to libass as `fontsdir`). White words with a black outline,
centred in the bottom band, wrapped to the frame's width.

The words are the creator's: ASS reads `{...}` as style overrides and `\\N` as a line
break, so braces are escaped (`\\{`, which libass draws as a brace) and a backslash is
followed by a word joiner (U+2060, drawn as nothing), so nothing in them is markup."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.studio.document import BurnedCaptions
    from apps.studio.graph import Canvas

# the family libass finds in FONT_DIR for each of the document's fonts, and its weight
FAMILIES = {
    "sans": ("DejaVu Sans", False), "sans-bold": ("DejaVu Sans", True),
    "serif": ("DejaVu Serif", False), "serif-bold": ("DejaVu Serif", True),
    "mono": ("DejaVu Sans Mono", False),
}
BOTTOM_MARGIN = 0.07  # of the height, from the bottom edge to the last line's baseline area


def escape_text(text: str) -> str:
    return (text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")
            .replace("\r", "").replace("\n", "\\N"))


def _time(ms: int) -> str:
    centis = ms // 10
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    seconds, centis = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{centis:02d}"


def ass_script(captions: BurnedCaptions, canvas: Canvas) -> str:
    w, h = canvas.width, canvas.height
    family, bold = FAMILIES[captions.font]
    size = max(8, round(h * captions.size))
    outline = max(1, round(size / 12))
    margin_v = round(h * BOTTOM_MARGIN)
    margin_h = round(w * 0.06)
    lines = [
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {w}", f"PlayResY: {h}",
        "WrapStyle: 0", "ScaledBorderAndShadow: yes", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Burned,{family},{size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,"
        f"{-1 if bold else 0},0,0,0,100,100,0,0,1,{outline},0,2,{margin_h},{margin_h},"
        f"{margin_v},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for cue in captions.cues:
        lines.append(f"Dialogue: 0,{_time(cue.start_ms)},{_time(cue.end_ms)},Burned,,0,0,0,,"
                     f"{escape_text(cue.text)}")
    return "\n".join(lines) + "\n"


def write_script(captions: BurnedCaptions, canvas: Canvas, work: Path) -> Path:
    path = work / "burned-captions.ass"
    path.write_text(ass_script(captions, canvas), encoding="utf-8")
    return path
