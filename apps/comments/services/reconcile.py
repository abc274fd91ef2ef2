"""Repair: recompute the comment counters from the rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count

from apps.comments.models import Comment, CommentLike
from apps.comments.services._common import Status, rank_for
from apps.content.models import Post


def comment_counters_reconcile(*, post_ids: Iterable[int] | None = None,
                               batch_size: int = 1000) -> int:
    """Recompute Post.comments_count, Comment.replies_count and Comment.likes_count from
    the rows; returns how many rows were corrected."""
    posts = Post.objects.order_by("pk")
    if post_ids is not None:
        posts = posts.filter(pk__in=list(post_ids))
    corrected = 0
    last = 0
    while True:
        chunk = list(posts.filter(pk__gt=last).values_list("pk", "comments_count")[:batch_size])
        if not chunk:
            return corrected
        last = chunk[-1][0]
        ids = [pk for pk, _ in chunk]
        visible = dict(Comment.objects.filter(post_id__in=ids, status=Status.VISIBLE)
                       .values("post_id").annotate(n=Count("id")).values_list("post_id", "n"))
        for pk, stored in chunk:
            if visible.get(pk, 0) != stored:
                Post.objects.filter(pk=pk).update(comments_count=visible.get(pk, 0))
                corrected += 1
        replies: dict[int, int] = defaultdict(int)
        for parent_id, n in (Comment.objects.filter(post_id__in=ids, status=Status.VISIBLE,
                                                    parent__isnull=False)
                             .values("parent_id").annotate(n=Count("id"))
                             .values_list("parent_id", "n")):
            replies[parent_id] = n
        likes = dict(CommentLike.objects.filter(comment__post_id__in=ids)
                     .values("comment_id").annotate(n=Count("id"))
                     .values_list("comment_id", "n"))
        for comment in Comment.objects.filter(post_id__in=ids).only(
                "id", "likes_count", "replies_count", "liked_by_creator", "created_at"):
            want_likes = likes.get(comment.pk, 0)
            want_replies = replies.get(comment.pk, 0)
            if (comment.likes_count, comment.replies_count) != (want_likes, want_replies):
                Comment.objects.filter(pk=comment.pk).update(
                    likes_count=want_likes, replies_count=want_replies,
                    rank=rank_for(likes=want_likes, liked_by_creator=comment.liked_by_creator,
                                  created_at=comment.created_at))
                corrected += 1
