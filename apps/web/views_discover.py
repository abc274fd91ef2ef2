"""`/discover`: the hashtags and sounds in use, most used first, each leading to its page
(the Discover tab of the phone's tab bar). Search itself comes with the search work."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.content import selectors as content_selectors
from apps.web.pages import content_viewer_of

HASHTAGS = 30
SOUNDS = 12


@require_safe
def discover(request: HttpRequest) -> HttpResponse:
    viewer = content_viewer_of(request)
    return render(request, "web/discover.html", {
        "hashtags": content_selectors.popular_hashtags_for(viewer=viewer, limit=HASHTAGS),
        "sounds": content_selectors.popular_sounds_for(viewer=viewer, limit=SOUNDS),
    })
