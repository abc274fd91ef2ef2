"""Read pages: the post permalink `/@<username>/video/<id>` (and the share link `/p/<id>/`,
the same page), `/tag/<name>` and `/sound/<id>`. What a viewer may see is decided by
`apps.content.selectors` (visibility, blocks, private accounts, drafts) and
`apps.content.audience` (age-restricted posts): anything else is a 404, exactly as the API
answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.accounts.models import User
from apps.content import selectors as content_selectors
from apps.content.api.serializers import SoundSerializer
from apps.content.models import Post, Sound
from apps.core.errors import NotFoundError
from apps.engagement.selectors import post_engagement_for
from apps.studio import selectors as studio_selectors
from apps.web.pages import avatar_url, content_viewer_of, page_of, post_cards, viewer_of


def _absolute(url: str | None) -> str | None:
    if not url:
        return None
    if url.startswith(("http://", "https://")):
        return url
    return f"{settings.SITE_URL.rstrip('/')}{url}"


@require_safe
def post_permalink(request: HttpRequest, username: str, post_id: str) -> HttpResponse:
    post = _visible_post(request, post_id)
    if post.author.username != username:  # renamed, or another case: one canonical URL
        return redirect("web:post", username=post.author.username, post_id=post.pk,
                        permanent=True)
    return _post_page(request, post)


@require_safe
def share_landing(request: HttpRequest, post_id: str) -> HttpResponse:
    """`/p/<id>/`, the link every share hands out: the post's own page (the same viewer
    rule, player and link previews; its canonical URL is the permalink)."""
    return _post_page(request, _visible_post(request, post_id), source="share")


def _visible_post(request: HttpRequest, post_id: str) -> Post:
    # content's one visibility rule (private accounts, blocks, drafts, removals, age)
    try:
        return content_selectors.get_post_detail_for(viewer=content_viewer_of(request),
                                                     post_id=post_id)
    except NotFoundError:
        raise Http404 from None


def _post_page(request: HttpRequest, post: Post, *, source: str = "") -> HttpResponse:
    """`source`: where plays of this page come from, when the URL itself says so (the
    share link); otherwise the page's script tells it from the referrer."""
    card = post_cards([post])[0]
    viewer = viewer_of(request)
    engagement = post_engagement_for(viewer=viewer, post=post)
    counts = engagement.counters
    author = post.author
    canonical = _absolute(reverse("web:post", args=[author.username, post.pk]))
    media = card["media"] or {}
    playback = media.get("playback") or {}
    # Link previews only for what anyone may watch: a crawler has no session. The same
    # rule as the stable media URLs in `playback` (content.selectors.publicly_watchable_q).
    public = content_selectors.public_version_of(post) is not None
    og_video, og_video_type = None, None
    if public and (playback.get("mp4") or playback.get("hls")):
        og_video = _absolute(playback.get("mp4") or playback.get("hls"))
        og_video_type = "video/mp4" if playback.get("mp4") else "application/x-mpegURL"
    is_owner = viewer is not None and viewer.pk == author.pk
    response = render(request, "web/post.html", {
        "post": post,
        "card": card,
        # a duet or stitch credits its original when this viewer may see it
        "derived": content_selectors.derived_originals_for(
            viewer=content_viewer_of(request), posts=[post]).get(post.derived_from_id or 0),
        "counts": counts,
        "author": author,
        "author_avatar": avatar_url(author, "100"),
        "canonical": canonical,
        "public": public,
        "og_title": f"{author.display_name or author.username} (@{author.username}) on SwipeMe",
        "og_description": post.caption[:300] or f"Watch @{author.username}'s video on SwipeMe.",
        "og_image": _absolute(playback.get("poster")) if public else None,
        "og_video": og_video,
        "og_video_type": og_video_type,
        # "Watch more": the For You feed, starting with this post
        "watch_more_url": f"{reverse('web:home')}?{urlencode({'start': post.pk})}",
        "login_url": f"{reverse('account_login')}?{urlencode({'next': request.path})}",
        "player": {
            "hls": playback.get("hls"), "mp4": playback.get("mp4"),
            "poster": playback.get("poster"), "post_id": str(post.pk), "source": source,
        },
        # what the page's script needs for like, comments, share and report
        "post_state": {
            "id": str(post.pk), "author": author.username, "author_id": str(author.pk),
            "signed_in": viewer is not None, "is_owner": is_owner,
            "me": viewer.username if viewer is not None else "",
            "liked": engagement.liked, "likes": counts.likes_count,
            "comments": post.comments_count, "shares": counts.shares_count,
            "comment_policy": post.comment_policy, "caption": post.caption,
            "share_url": _absolute(reverse("web:share", args=[post.pk])),
        },
        # the author's latest edit of the post that is not its video (yet): why, in words
        "edit_news": studio_selectors.post_version_news(post.pk) if is_owner else None,
    })
    # Signed media URLs, the CSP nonce and the CSRF token: never through a shared cache.
    response["Cache-Control"] = "private, no-cache"
    return response


@require_safe
def hashtag(request: HttpRequest, name: str) -> HttpResponse:
    try:
        tag = content_selectors.get_hashtag(name=name)
    except NotFoundError:
        raise Http404 from None
    page = page_of(request, content_selectors.hashtag_posts_for(
        viewer=content_viewer_of(request), hashtag=tag))
    return render(request, "web/hashtag.html", {
        "tag": tag, "cards": post_cards(page.rows), "next_before": page.next_before,
    })


def usable_for_posts(sound: Sound, viewer: User | AnonymousUser | None) -> bool:
    """Whether the viewer's new post may choose this sound (the rule the create service
    enforces; shown here so the button is not offered in vain)."""
    return content_selectors.sound_use_refusal(sound, user=viewer) is None


@require_safe
def sound(request: HttpRequest, sound_id: str) -> HttpResponse:
    viewer = content_viewer_of(request)
    try:
        found = content_selectors.get_sound_for(viewer=viewer, sound_id=sound_id)
    except NotFoundError:
        raise Http404 from None
    page = page_of(request, content_selectors.sound_posts_for(viewer=viewer, sound=found))
    data: dict[str, Any] = SoundSerializer(  # type: ignore[assignment]
        found, context={"request": request}).data
    owner = found.original_owner
    return render(request, "web/sound.html", {
        "sound": found,
        "data": data,
        "owner": owner,
        "owner_avatar": avatar_url(owner, "100") if owner is not None else None,
        "usable": usable_for_posts(found, viewer),
        "cards": post_cards(page.rows),
        "next_before": page.next_before,
    })
