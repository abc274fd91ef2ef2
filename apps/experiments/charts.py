"""Server-rendered SVG for the results page: one metric's effect and its always-valid
confidence sequence over the experiment's days (no JavaScript, no chart library)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 520, 180
PAD_L, PAD_R, PAD_T, PAD_B = 64, 26, 14, 30


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def effect_chart(history: Sequence[dict[str, Any]], *, title: str) -> SafeString:
    """The difference (line) and its interval (band) per day, with the zero line."""
    points = [h for h in history if h.get("ci_low") is not None and h.get("ci_high") is not None]
    if not points:
        return mark_safe('<p class="help">Not enough units yet for a daily chart.</p>')
    lows = [float(h["ci_low"]) for h in points]
    highs = [float(h["ci_high"]) for h in points]
    low, high = min([*lows, 0.0]), max([*highs, 0.0])
    if math.isclose(low, high):
        low, high = low - 1, high + 1
    span = high - low
    low, high = low - 0.05 * span, high + 0.05 * span
    days = [int(h["day"]) for h in points]
    first, last = min(days), max(days)
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(day: int) -> float:
        return PAD_L + (plot_w * (day - first) / (last - first) if last > first else plot_w / 2)

    def y(value: float) -> float:
        return PAD_T + plot_h * (high - value) / (high - low)

    band = [f"{x(d):.1f},{y(v):.1f}" for d, v in zip(days, highs, strict=True)]
    band += [f"{x(d):.1f},{y(v):.1f}" for d, v in reversed(list(zip(days, lows, strict=True)))]
    line = " ".join(f"{x(int(h['day'])):.1f},{y(float(h['difference'])):.1f}" for h in points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="exp-chart" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ddd"/>',
        f'<polygon points="{" ".join(band)}" fill="#79aec8" fill-opacity="0.35"/>',
        f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
        'stroke="#555" stroke-dasharray="4 3"/>',
        f'<polyline points="{line}" fill="none" stroke="#264b5d" stroke-width="2"/>',
    ]
    for h in points:
        parts.append(
            f'<circle cx="{x(int(h["day"])):.1f}" cy="{y(float(h["difference"])):.1f}" '
            'r="2.5" fill="#264b5d"/>'
        )
    for value in (high, 0.0, low):
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#333">{escape(_fmt(value))}</text>'
        )
    step = max(1, (last - first) // 7 or 1)
    for day in range(first, last + 1, step):
        parts.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - 10}" text-anchor="middle" '
            f'font-size="11" fill="#333">day {day}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped text only
