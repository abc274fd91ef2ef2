"""Template helpers of the site pages: compact counts and captions with their links."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def compact(value: Any) -> str:
    """1234 → "1.2K", 5_600_000 → "5.6M" (counts on tiles and headers)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return "0"
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if number >= limit:
            text = f"{number / limit:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return str(number)


@register.filter
def caption_html(caption: str, entities: Any) -> SafeString:
    """The caption, escaped, with its hashtags and mentions as links. Entity offsets are in
    code points (as `content.services` writes them), which is how Python indexes str."""
    if not caption:
        return mark_safe("")
    spans = sorted(
        (e for e in (entities or []) if isinstance(e, dict)
         and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
        key=lambda e: int(e["start"]),
    )
    out: list[str] = []
    at = 0
    for entity in spans:
        start, end = int(entity["start"]), int(entity["end"])
        if start < at or end > len(caption) or start >= end:
            continue
        out.append(escape(caption[at:start]))
        text = caption[start:end]
        if entity.get("type") == "hashtag" and entity.get("name"):
            href = reverse("web:hashtag", args=[str(entity["name"])])
        elif entity.get("type") == "mention" and entity.get("username"):
            href = reverse("web:profile", args=[str(entity["username"])])
        else:
            out.append(escape(text))
            at = end
            continue
        out.append(format_html('<a href="{}">{}</a>', href, text))
        at = end
    out.append(escape(caption[at:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped


@register.filter
def duration(ms: Any) -> str:
    """Milliseconds as m:ss."""
    try:
        seconds = int(ms) // 1000
    except (TypeError, ValueError):
        return ""
    return f"{seconds // 60}:{seconds % 60:02d}"


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


@register.filter
def browser_summary(user_agent: str) -> str:
    """"Chrome on Linux" from a User-Agent header; the first word of anything else."""
    agent = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in agent), None)
    system = next((name for token, name in _SYSTEMS if token in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return str(browser or system)
    return agent.split(" ", 1)[0][:60] or "Unknown browser"


@register.filter
def ago(moment: Any) -> str:
    """"just now" under a minute, else Django's timesince with "ago"."""
    from datetime import datetime, timedelta

    from django.utils import timezone
    from django.utils.timesince import timesince

    if not isinstance(moment, datetime):
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
