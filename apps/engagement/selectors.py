"""Engagement reads. Lists are one query per page (plus the permission check), whatever
the page size; counters shown to clients add what is still pending in Redis."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.selectors import visible_to_q, without_muted_authors
from apps.core.errors import ForbiddenError, NotFoundError
from apps.engagement import counters
from apps.engagement.models import Collection, EngagementSettings, Favourite, Like
from apps.engagement.services import COLLECTION_NOT_FOUND
from apps.social.selectors import (
    can_view_account_content,
    discoverable_q,
    is_blocked_between,
    users_by_username,
)

# What a post row in an engagement list shows.
POST_ROW_FIELDS = (
    "id", "caption", "created_at", "published_at", "visibility",
    *counters.FIELDS,
    "author__id", "author__username", "author__display_name", "author__avatar_sizes",
    "author__is_private", "author__is_verified",
)


@dataclass(frozen=True)
class PostCounters:
    likes_count: int
    favourites_count: int
    shares_count: int
    views_count: int


@dataclass(frozen=True)
class PostEngagement:
    post_id: int
    counters: PostCounters
    liked: bool
    favourited: bool
    collection_id: int | None


def counters_for(posts: list[Post]) -> dict[int, PostCounters]:
    """Database value plus the pending Redis delta, for each post (one Redis round trip)."""
    pending = counters.shown_pending_deltas(post.pk for post in posts)
    out = {}
    for post in posts:
        delta = pending.get(post.pk, {})
        values = {f: max(int(getattr(post, f)) + delta.get(f, 0), 0) for f in counters.FIELDS}
        out[post.pk] = PostCounters(**values)
    return out


def post_engagement_for(*, viewer: User | None, post: Post) -> PostEngagement:
    """The post's counters and what the viewer did to it (one query)."""
    liked = favourited = False
    collection_id = None
    if viewer is not None:
        row = (
            Post.objects.filter(pk=post.pk)
            .annotate(liked=Exists(Like.objects.filter(user_id=viewer.pk, post_id=OuterRef("pk"))))
            .values("liked")
            .first()
        )
        fav = Favourite.objects.filter(user_id=viewer.pk, post_id=post.pk).values(
            "collection_id").first()
        liked = bool(row and row["liked"])
        favourited = fav is not None
        collection_id = fav["collection_id"] if fav else None
    return PostEngagement(post_id=post.pk, counters=counters_for([post])[post.pk], liked=liked,
                          favourited=favourited, collection_id=collection_id)


# --- collections ----------------------------------------------------------------------------


def collections_for(owner: User) -> QuerySet[Collection]:
    """The owner's collections with how many favourites each holds (one query)."""
    return Collection.objects.filter(owner_id=owner.pk).annotate(items=Count("favourites"))


def get_collection_for(owner: User, *, collection_id: int) -> Collection:
    """Collections are private: someone else's id is a 404."""
    collection = collections_for(owner).filter(pk=collection_id).first()
    if collection is None:
        raise NotFoundError(COLLECTION_NOT_FOUND)
    return collection


def favourites_for(owner: User, *, collection_id: int | None = None) -> QuerySet[Favourite]:
    """The owner's favourites (optionally one collection's) whose posts they may still see,
    with the post and its author (one query per page)."""
    qs = Favourite.objects.filter(user_id=owner.pk)
    if collection_id is not None:
        get_collection_for(owner, collection_id=collection_id)
        qs = qs.filter(collection_id=collection_id)
    return (qs.filter(visible_to_q(owner, "post__"))
            .select_related("post", "post__author")
            .only("id", "created_at", "collection_id", "user_id",
                  *(f"post__{f}" for f in POST_ROW_FIELDS), "post__author_id"))


# --- liked posts -------------------------------------------------------------------------------


def shows_liked_posts(user: User) -> bool:
    return EngagementSettings.objects.filter(user_id=user.pk, show_liked_posts=True).exists()


def liked_posts_for(viewer: User | None, *, username: str) -> QuerySet[Like]:
    """A user's likes, newest first, as the viewer may see them: the owner always; others
    only when the owner chose to show their liked posts and the viewer may see the owner's
    content (public, or an approved follower; never across a block). Each post must be
    visible to the viewer; posts by people the viewer muted are left out."""
    viewer_id = viewer.pk if viewer is not None else None
    owner = (users_by_username(username).filter(discoverable_q(viewer_id=viewer_id))
             .only("id", "is_private", "is_active", "deactivated_at",
                   "deletion_scheduled_for").first())
    if owner is None or (viewer_id is not None and owner.pk != viewer_id
                         and is_blocked_between(viewer_id, owner.pk)):
        raise NotFoundError("User not found.")
    if not can_view_account_content(viewer_id=viewer_id, owner=owner):
        raise ForbiddenError("This account is private: only its approved followers see "
                             "its liked posts.", code="private_account")
    if owner.pk != viewer_id and not shows_liked_posts(owner):
        raise ForbiddenError("This user keeps their liked posts private.",
                             code="liked_posts_private")
    visible = without_muted_authors(Post.objects.filter(visible_to_q(viewer)), viewer=viewer)
    return (Like.objects.filter(user_id=owner.pk, post__in=visible.values("pk"))
            .select_related("post", "post__author")
            .only("id", "created_at", "user_id",
                  *(f"post__{f}" for f in POST_ROW_FIELDS), "post__author_id"))
