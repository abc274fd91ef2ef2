"""The caption editor, `/studio/captions/<post id>`: the author of a post fixes the words and
timings of its video's caption tracks (subtitles, `media.CaptionTrack`), asks for automatic
ones or uploads a WebVTT/SRT file. The page is a shell: static/js/pages/captions.js works
through the caption API (`/api/v1/media/assets/<id>/captions[/<lang>]`, owner only), which
checks every change. Someone else's post, or one the viewer may not see, is a 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.content import selectors as content_selectors
from apps.content.models import Post
from apps.core.errors import NotFoundError
from apps.media import subtitles
from apps.web.pages import content_viewer_of, post_cards, viewer_of


@login_required
@require_safe
def captions(request: HttpRequest, post_id: str) -> HttpResponse:
    viewer = viewer_of(request)
    try:
        post = content_selectors.get_post_detail_for(viewer=content_viewer_of(request),
                                                     post_id=post_id)
    except NotFoundError:
        raise Http404 from None
    if viewer is None or post.author_id != viewer.pk or post.status == Post.Status.REMOVED:
        raise Http404
    media = post_cards([post])[0]["media"] or {}
    playback = media.get("playback") or {}
    response = render(request, "web/captions.html", {
        "post": post,
        "post_url": reverse("web:post", args=[post.author.username, post.pk]),
        "config": {
            "asset_id": str(post.asset_id), "post_id": str(post.pk),
            "duration_ms": post.asset.duration_ms,
            "max_cue_chars": subtitles.MAX_CUE_CHARS, "max_cues": subtitles.MAX_CUES,
            "hls": playback.get("hls"), "mp4": playback.get("mp4"),
            "poster": playback.get("poster"),
        },
    })
    response["Cache-Control"] = "private, no-cache"  # signed media URLs
    return response
