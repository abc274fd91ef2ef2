"""Accounts' hook registries: a user's comment rows purged (fixing the counters they fed)
and exported."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, F, Q
from django.db.models.functions import Greatest

from apps.comments.models import Comment, CommenterBan, CommentFilter, CommentLike
from apps.comments.services._common import Status, rank_for
from apps.content.models import Post


def comments_purge_user(*, user_id: int) -> None:
    """Before a user row is deleted: remove their comments (and the replies under their
    top-level comments), their comment likes, keyword filters and bans, fixing every
    counter those rows fed. Runs inside the purge transaction."""
    # Their likes on other people's comments.
    liked = list(CommentLike.objects.filter(user_id=user_id).values_list("comment_id", flat=True))
    CommentLike.objects.filter(user_id=user_id).delete()
    for comment in Comment.objects.select_for_update().filter(pk__in=liked).select_related(
            "post").only("id", "likes_count", "liked_by_creator", "created_at",
                         "post__author_id"):
        by_creator = comment.liked_by_creator and comment.post.author_id != user_id
        likes = max(comment.likes_count - 1, 0)
        Comment.objects.filter(pk=comment.pk).update(
            likes_count=Greatest(F("likes_count") - 1, 0), liked_by_creator=by_creator,
            rank=rank_for(likes=likes, liked_by_creator=by_creator,
                          created_at=comment.created_at))
    # Their comments, and everything threaded under their top-level comments.
    theirs = Comment.objects.filter(author_id=user_id)
    doomed = Comment.objects.filter(
        Q(author_id=user_id) | Q(parent__author_id=user_id, parent__parent__isnull=True))
    per_post: dict[int, int] = defaultdict(int)
    for post_id, n in (doomed.filter(status=Status.VISIBLE).values("post_id")
                       .annotate(n=Count("id")).values_list("post_id", "n")):
        per_post[post_id] += n
    for post_id, n in sorted(per_post.items()):
        Post.objects.filter(pk=post_id).update(comments_count=Greatest(F("comments_count") - n, 0))
    # Their visible replies under other people's comments.
    for parent_id, n in (theirs.filter(status=Status.VISIBLE, parent__isnull=False)
                         .exclude(parent__author_id=user_id).values("parent_id")
                         .annotate(n=Count("id")).values_list("parent_id", "n")):
        Comment.objects.filter(pk=parent_id).update(
            replies_count=Greatest(F("replies_count") - n, 0))
    Comment.objects.filter(pk__in=list(doomed.values_list("id", flat=True))).delete()
    CommentFilter.objects.filter(creator_id=user_id).delete()
    CommenterBan.objects.filter(Q(creator_id=user_id) | Q(user_id=user_id)).delete()


def comments_export_user(*, user_id: int) -> list[dict[str, str | None]]:
    """The user's comments for their data export."""
    return [
        {"id": str(pk), "post_id": str(post_id), "parent_id": str(parent) if parent else None,
         "text": text, "status": status, "at": at.isoformat()}
        for pk, post_id, parent, text, status, at in Comment.objects.filter(author_id=user_id)
        .order_by("id").values_list("id", "post_id", "parent_id", "text", "status", "created_at")
    ]
