"""The upload page. The page itself is only the form and its configuration: the bytes go
through the media API (tus 1.0 on the signed URL it hands out), progress comes over the
asset websocket (polling the asset endpoint when the socket is unavailable), and the post is
made with `POST /api/v1/posts` — the same calls a mobile client makes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.content import selectors as content_selectors
from apps.content.models import CAPTION_MAX_LENGTH, Post
from apps.core.errors import NotFoundError
from apps.web.pages import viewer_of
from apps.web.views_pages import usable_for_posts
from apps.web.views_suggest import library_sounds_for


@login_required
@require_safe
def upload(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    assert viewer is not None
    chosen = None
    raw = request.GET.get("sound", "")
    if raw:
        try:
            sound = content_selectors.get_sound_for(viewer=viewer, sound_id=raw)
        except NotFoundError:
            sound = None
        if sound is not None and usable_for_posts(sound, viewer):
            chosen = sound
    sounds = library_sounds_for(viewer, limit=20)
    if chosen is not None and all(s.pk != chosen.pk for s in sounds):
        sounds.insert(0, chosen)
    config = {
        "uploads_url": reverse("v1:media-uploads"),
        "asset_url": reverse("v1:media-asset", args=[0]).removesuffix("0"),
        "ws_path": "/ws/media/assets/",
        "posts_url": reverse("v1:posts"),
        "suggest_hashtags_url": reverse("web:suggest-hashtags"),
        "suggest_users_url": reverse("web:suggest-users"),
        "max_bytes": settings.MEDIA_UPLOAD_MAX_BYTES,
        "profile_url": reverse("web:profile", args=[viewer.username]),
        "drafts_url": reverse("web:drafts", args=[viewer.username]),
        "username": viewer.username,
        "studio_url": reverse("v1:studio-options").removesuffix("options"),
    }
    return render(request, "web/upload.html", {
        "config": config,
        "sounds": sounds,
        "chosen_sound": chosen,
        "caption_max": CAPTION_MAX_LENGTH,
        "visibilities": Post.Visibility.choices,
        "comment_policies": Post.CommentPolicy.choices,
        "sound_mixes": Post.SoundMix.choices,
        "default_private": viewer.is_private,
    })
