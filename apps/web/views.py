"""The feed pages: For You (the home page, open to signed-out visitors) and Following.
The page is a shell; the items come from the feed API in the browser (static/js/feed)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import ensure_csrf_cookie


def _feed_context(request: HttpRequest, tab: str) -> dict[str, Any]:
    try:
        reports_url = reverse("v1:reports")
    except NoReverseMatch:  # the moderation API is not mounted: the menu has no "Report"
        reports_url = ""
    signed_in = bool(request.user.is_authenticated)
    source = ""
    if tab == "for-you" or signed_in:
        source = reverse("v1:feed-for-you" if tab == "for-you" else "v1:feed-following")
    return {
        "tab": tab,
        "source": source,
        "preload": request.GET.get("preload") != "0",
        "reports_url": reports_url if signed_in else "",
    }


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/feed.html", _feed_context(request, "for-you"))


@ensure_csrf_cookie
def following(request: HttpRequest) -> HttpResponse:
    return render(request, "web/feed.html", _feed_context(request, "following"))
