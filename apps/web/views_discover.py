"""`/discover` (the Discover tab): trending searches, trending hashtags with their top
videos, rising sounds and suggested creators (apps.search.discovery: the same reads and the
same visibility rules as `GET /api/v1/discover`), then more hashtags in use; the search box
opens /search."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.content import selectors as content_selectors
from apps.search import discovery
from apps.search.api.serializers import SearchAccountItemSerializer, SearchVideoItemSerializer
from apps.web.pages import content_viewer_of

MORE_HASHTAGS = 30


@require_safe
def discover(request: HttpRequest) -> HttpResponse:
    viewer = content_viewer_of(request)
    page = discovery.discover_for(viewer=viewer)
    trending: list[dict[str, Any]] = [
        {"tag": tag, "videos": [SearchVideoItemSerializer(video).data for video in videos]}
        for tag, videos in page.hashtags]
    shown = {tag.pk for tag, _ in page.hashtags}
    more = [tag for tag in content_selectors.popular_hashtags_for(viewer=viewer,
                                                                  limit=MORE_HASHTAGS)
            if tag.pk not in shown]
    return render(request, "web/discover.html", {
        "searches": page.searches,
        "trending": trending,
        "hashtags": more,
        "sounds": page.sounds,
        "creators": [SearchAccountItemSerializer(user).data for user in page.creators],
    })
