"""The public share page behind every share link: /p/<post id>/. Posts anyone may watch
only (a post that is not, one the signed-in viewer may not see, e.g. its author blocked
them, or an unknown one is a plain 404), with Open Graph and Twitter card tags so that
link previews show the post."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.selectors import parse_post_id, publicly_watchable_q, visible_to_q
from apps.core.errors import NotFoundError


@require_safe
def share_page(request: HttpRequest, post_id: str) -> HttpResponse:
    try:
        pk = parse_post_id(post_id)
    except NotFoundError:
        raise Http404 from None
    # What an anonymous visitor may see (the preview a crawler renders must not depend on
    # whose session fetched it), and never to a signed-in viewer who may not see the post
    # (one its author blocked): content's one visibility rule, for both.
    user = request.user
    viewer = user if isinstance(user, User) and user.is_authenticated else None
    posts = Post.objects.filter(publicly_watchable_q())
    if viewer is not None:
        posts = posts.filter(visible_to_q(viewer))
    post = posts.filter(pk=pk).select_related("author").first()
    if post is None:
        raise Http404
    author = post.author
    url = f"{settings.SITE_URL.rstrip('/')}{reverse('engagement:share-page', args=[post.pk])}"
    title = f"{author.display_name or author.username} (@{author.username}) on SwipeMe"
    description = post.caption[:300] or f"Watch @{author.username}'s video on SwipeMe."
    response = render(request, "engagement/share_page.html", {
        "post": post, "author": author, "share_url": url, "og_title": title,
        "og_description": description,
    })
    # A signed-in viewer's answer depends on who they are: no shared cache keeps it.
    response["Cache-Control"] = ("private, max-age=300" if viewer is not None
                                else "public, max-age=300")
    return response
