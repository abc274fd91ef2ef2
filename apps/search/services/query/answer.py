"""The search's answer: its results (typed items), cursor and notices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser

from apps.accounts.models import User
from apps.search.services.query.params import Tab

Viewer = User | AnonymousUser | None
Item = tuple[str, Any]  # ("account" | "video" | "sound" | "live" | "hashtag", the row)


@dataclass(frozen=True)
class Notice:
    code: str
    title: str
    message: str
    links: tuple[tuple[str, str], ...]  # (label, url)


@dataclass
class SearchAnswer:
    query: str
    tab: Tab
    search_id: str
    results: list[Item] = field(default_factory=list)
    next_cursor: str | None = None
    notice: Notice | None = None


# A blocked search term answers this instead of results.
SAFETY_NOTICE = Notice(
    code="safety",
    title="You are not alone",
    message=("If you are going through something difficult, support is available. You can "
             "talk to someone you trust, or reach a helpline near you: it is free and "
             "confidential. If you are in danger right now, call your local emergency number."),
    links=(("Find a helpline", "https://findahelpline.com"),
           ("Our safety centre", "/help/safety")),
)


# The index is derived: at its first start (or after a corrupt one was thrown away) it is
# rebuilt from PostgreSQL in the background, and searches answer meanwhile from what it
# holds, with this notice so that an empty or thin answer is not taken for "nothing exists".
INDEX_BUILDING_NOTICE = Notice(
    code="index_building",
    title="Search is getting ready",
    message=("We are preparing search right now, so some results may be missing. "
             "Please try again in a few minutes."),
    links=(),
)


def language_of(viewer: Viewer, language: str) -> str:
    """The viewer's profile language, else `language` (signed out: the browser's)."""
    if isinstance(viewer, User) and viewer.language:
        return viewer.language
    return language
