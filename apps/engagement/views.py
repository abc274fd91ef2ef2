"""The public share page behind every share link: /p/<post id>/. Public posts only (a
post that is not public to everyone, or unknown, is a plain 404), with Open Graph and
Twitter card tags so that link previews show the post."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.content.selectors import parse_post_id, visible_posts_for
from apps.core.errors import NotFoundError


@require_safe
def share_page(request: HttpRequest, post_id: str) -> HttpResponse:
    try:
        pk = parse_post_id(post_id)
    except NotFoundError:
        raise Http404 from None
    # Exactly what an anonymous visitor may see, whoever is logged in: the preview a
    # crawler renders must not depend on whose session fetched it.
    post = visible_posts_for(viewer=None).filter(pk=pk).select_related("author").first()
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
    response["Cache-Control"] = "public, max-age=300"
    return response
