"""Profiles: `/@<username>` (header, grid with pinned posts first), the liked tab, the
owner's drafts, followers / following lists and the follow requests of a private account.

Every permission question is answered by the social, content and engagement selectors:
unknown, not discoverable or blocked either way → 404; a private account's posts and lists
→ the page says so (the header stays, as on the API's 403)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.accounts.models import User
from apps.content import selectors as content_selectors
from apps.content.models import Post
from apps.core.errors import ForbiddenError, NotFoundError
from apps.engagement import selectors as engagement_selectors
from apps.live import selectors as live_selectors
from apps.moderation import selectors as moderation_selectors
from apps.moderation.models import TargetType
from apps.monetization import subscription_selectors
from apps.notifications import selectors as notification_selectors
from apps.social import selectors as social_selectors
from apps.web.pages import (
    avatar_url,
    content_viewer_of,
    page_of,
    post_cards,
    viewer_of,
)

GRID_STATUSES = (Post.Status.PUBLISHED, Post.Status.REMOVED)
DRAFT_STATUSES = (Post.Status.DRAFT, Post.Status.SCHEDULED, Post.Status.PROCESSING,
                  Post.Status.REVIEWING)


def _profile_or_404(request: HttpRequest, username: str) -> social_selectors.Profile:
    try:
        return social_selectors.get_profile_for(viewer_of(request), username=username)
    except NotFoundError:
        raise Http404 from None


def _shows_likes(request: HttpRequest, owner: User) -> bool:
    viewer = viewer_of(request)
    return (viewer is not None and viewer.pk == owner.pk) \
        or engagement_selectors.shows_liked_posts(owner)


def _post_bell(request: HttpRequest, profile: social_selectors.Profile) -> str | None:
    """The viewer's post notifications for a creator they follow (the bell: all,
    personalised or off); None where there is no bell (signed out, their own profile, not
    following)."""
    viewer = viewer_of(request)
    if viewer is None or profile.relation.is_self or not profile.relation.following:
        return None
    return notification_selectors.creator_subscription_level(viewer, profile.user)


def _header(request: HttpRequest, profile: social_selectors.Profile, tab: str) -> dict[str, Any]:
    owner = profile.user
    return {
        "post_bell": _post_bell(request, profile),
        "owner": owner,
        "relation": profile.relation,
        "avatar": avatar_url(owner, "320"),
        "tab": tab,
        "shows_likes": _shows_likes(request, owner),
        "is_self": profile.relation.is_self,
        # the Subscribe button: the creator offers tiers (monetization's)
        "offers_subscriptions": subscription_selectors.offers_tiers(owner.pk),
        # the live ring: on air now in a live this viewer may watch
        "live_id": live_selectors.on_air_lives([owner.pk], viewer=viewer_of(request))
        .get(owner.pk),
    }


def _blocked_by_viewer(request: HttpRequest, username: str) -> User | None:
    """The account the viewer blocked under this name (the block hides it from them too,
    but they may see that they blocked it, and undo it)."""
    viewer = viewer_of(request)
    if viewer is None:
        return None
    row = (social_selectors.get_blocks_for(viewer)
           .filter(blocked__in=social_selectors.users_by_username(username)).first())
    return row.blocked if row is not None else None


@require_safe
def profile(request: HttpRequest, username: str) -> HttpResponse:
    try:
        found = social_selectors.get_profile_for(viewer_of(request), username=username)
    except NotFoundError:
        blocked = _blocked_by_viewer(request, username)
        if blocked is None:
            raise Http404 from None
        return render(request, "web/blocked_profile.html", {"blocked": blocked})
    if found.user.username != username:
        return redirect("web:profile", username=found.user.username, permanent=True)
    context = _header(request, found, "posts")
    try:
        grid = content_selectors.get_profile_grid_for(viewer=content_viewer_of(request),
                                                      username=username)
    except ForbiddenError:
        return render(request, "web/profile.html", {**context, "private": True})
    except NotFoundError:
        raise Http404 from None
    # The grid is what everyone sees: published posts (and, for the owner alone, as the
    # visibility rule decides, their removed ones, marked with the reason). The owner's
    # drafts and scheduled posts have their own tab, never the grid.
    page = page_of(request, grid.posts.filter(status__in=GRID_STATUSES))
    pinned = [p for p in grid.pinned if p.status == Post.Status.PUBLISHED] if page.first else []
    cards = post_cards([*pinned, *page.rows])
    removed = [int(c["id"]) for c in cards if c["status"] == Post.Status.REMOVED]
    if removed:
        why = moderation_selectors.removals_of(target_type=TargetType.POST, target_ids=removed)
        for card in cards:
            action = why.get(int(card["id"]))
            if action is not None:
                card["removed_reason"] = action.reason
    return render(request, "web/profile.html", {
        **context,
        "cards": cards,
        "next_before": page.next_before,
    })


@require_safe
def liked(request: HttpRequest, username: str) -> HttpResponse:
    found = _profile_or_404(request, username)
    context = _header(request, found, "liked")
    try:
        likes = engagement_selectors.liked_posts_for(viewer_of(request), username=username)
    except NotFoundError:
        raise Http404 from None
    except ForbiddenError as error:
        return render(request, "web/profile.html",
                      {**context, "private": error.code == "private_account",
                       "likes_hidden": error.code == "liked_posts_private"})
    page = page_of(request, likes)
    ids = [like.post_id for like in page.rows]
    posts = {p.pk: p for p in content_selectors.for_display(Post.objects.filter(pk__in=ids))}
    return render(request, "web/profile.html", {
        **context,
        "cards": post_cards([posts[i] for i in ids if i in posts]),
        "next_before": page.next_before,
    })


@login_required
@require_safe
def drafts(request: HttpRequest, username: str) -> HttpResponse:
    """The owner's unpublished posts (drafts, scheduled, processing, in review)."""
    found = _profile_or_404(request, username)
    if not found.relation.is_self:
        raise Http404
    rows = content_selectors.for_display(
        Post.objects.filter(author_id=found.user.pk, status__in=DRAFT_STATUSES))
    page = page_of(request, rows)
    return render(request, "web/profile.html", {
        **_header(request, found, "drafts"),
        "cards": post_cards(page.rows),
        "next_before": page.next_before,
    })


def _people(request: HttpRequest, username: str, kind: str) -> HttpResponse:
    found = _profile_or_404(request, username)
    viewer = viewer_of(request)
    getter = (social_selectors.get_followers_for if kind == "followers"
              else social_selectors.get_following_for)
    user_field = "follower" if kind == "followers" else "followee"
    context: dict[str, Any] = {**_header(request, found, kind), "kind": kind}
    try:
        rows = getter(viewer, username=username)
    except NotFoundError:
        raise Http404 from None
    except ForbiddenError:
        return render(request, "web/people.html", {**context, "private": True}, status=403)
    page = page_of(request, rows)
    people = social_selectors.user_rows(page.rows, viewer=viewer, user_field=user_field)
    return render(request, "web/people.html", {
        **context,
        "people": [{"user": r.user, "relation": r.relation, "avatar": avatar_url(r.user, "100")}
                   for r in people],
        "next_before": page.next_before,
    })


@require_safe
def followers(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, "followers")


@require_safe
def following(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, "following")


@login_required
@require_safe
def follow_requests(request: HttpRequest) -> HttpResponse:
    """Pending requests to follow a private account, approved or denied through the API."""
    viewer = viewer_of(request)
    assert viewer is not None
    page = page_of(request, social_selectors.get_follow_requests_for(viewer))
    rows = [{"id": str(row.pk), "user": row.requester, "avatar": avatar_url(row.requester, "100")}
            for row in page.rows]
    return render(request, "web/follow_requests.html", {
        "requests": rows, "next_before": page.next_before,
        "approve_all_url": reverse("v1:me-follow-requests-approve-all"),
    })
