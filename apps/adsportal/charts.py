"""Server-rendered SVG charts for the reporting page: no script, no CDN, readable without
JavaScript and by screen readers (each chart carries a title and a description, and the
page shows the same numbers in a table beside it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 480
HEIGHT = 200
PAD_LEFT = 64
PAD_RIGHT = 12
PAD_TOP = 14
PAD_BOTTOM = 34


@dataclass(frozen=True)
class Point:
    label: str
    value: float


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times 10^k at or above value (an axis that reads well)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def bar_chart(points: Sequence[Point], *, title: str, unit: str = "") -> SafeString:
    """Vertical bars, one per point, with a labelled y axis (0, half, top) and at most
    eight x labels (every k-th) so long periods stay legible."""
    values = [max(0.0, float(p.value)) for p in points]
    top = _nice_max(max(values, default=0.0))
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(1, len(points))
    slot = inner_w / n
    bar_w = max(2.0, slot * 0.7)
    every = max(1, -(-n // 8))
    parts: list[str] = [
        f'<svg class="ads-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{_id(title)}-t" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = PAD_TOP + inner_h * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(_short(top * fraction))}{escape(unit)}</text>'
        )
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        height = inner_h * value / top
        x = PAD_LEFT + slot * index + (slot - bar_w) / 2
        y = PAD_TOP + inner_h - height
        parts.append(
            f'<rect class="ads-bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
            f'height="{height:.1f}"><title>{escape(point.label)}: '
            f"{escape(_short(value))}{escape(unit)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" '
                f'y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle">'
                f"{escape(_clip(point.label))}</text>"
            )
    if not points:
        parts.append(
            f'<text class="axis" x="{WIDTH / 2}" y="{HEIGHT / 2}" '
            'text-anchor="middle">No data yet</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _clip(label: str, length: int = 10) -> str:
    """An x label short enough not to run into its neighbour (the bar's title has it all)."""
    return label if len(label) <= length else label[: length - 1] + "\u2026"


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
