"""Server-rendered SVG line charts of QoE figures by day (no JavaScript, no chart library,
as the experiments' results page draws its charts)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 460, 190
PAD_L, PAD_R, PAD_T, PAD_B = 58, 16, 22, 34
COLOURS = ("#264b5d", "#d9822b", "#2e7d32")


def _fmt(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"


def day_chart(
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    unit: str,
    threshold: float | None = None,
) -> SafeString:
    """One line per series over the days (a gap where a day has no value), a dashed red
    line at `threshold` when given, the y axis from 0."""
    points = [v for _, values in series for v in values if v is not None]
    if not days or not points:
        return mark_safe('<p class="help">No QoE reports in this range.</p>')
    high = max([*points, threshold or 0.0]) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    n = len(days)

    def x(i: int) -> float:
        return PAD_L + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(value: float) -> float:
        return PAD_T + plot_h * (high - value) / high

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qoe-chart" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ddd"/>',
    ]
    for value in (0.0, high / 2, high):
        parts.append(
            f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#333">{escape(_fmt(value))}</text>'
        )
    if threshold is not None:
        parts.append(
            f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(threshold):.1f}" '
            f'y2="{y(threshold):.1f}" stroke="#c5221f" stroke-dasharray="5 3"/>'
        )
    for index, (label, values) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, point in enumerate(values):
            if point is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(point):.1f}")
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(point):.1f}" r="2.5" '
                f'fill="{colour}"><title>{escape(days[i])}: '
                f"{escape(_fmt(point))} {escape(unit)}</title></circle>"
            )
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" '
                    f'stroke="{colour}" stroke-width="2"/>'
                )
        parts.append(
            f'<text x="{PAD_L + 8 + index * 90}" y="{PAD_T - 7}" font-size="11" '
            f'fill="{colour}">■ {escape(label)}</text>'
        )
    step = max(1, -(-n // 6))
    for i in range(0, n, step):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle" '
            f'font-size="11" fill="#333">{escape(days[i][5:])}</text>'
        )
    parts.append(
        f'<text x="{WIDTH - PAD_R}" y="{PAD_T - 7}" text-anchor="end" '
        f'font-size="11" fill="#666">{escape(unit)}</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped text only
