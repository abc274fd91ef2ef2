"""What the comment use cases share: the not-found message, the rank, locking a comment,
and the compare-and-set of its status that moves the counters by what changed."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from django.db.models import F
from django.db.models.functions import Greatest

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.content.models import Post
from apps.core.errors import ForbiddenError, NotFoundError
from apps.core.ids import SWIPEME_EPOCH_MS

COMMENT_NOT_FOUND = "Comment not found."
CREATOR_LIKE_BONUS = 2.0
RANK_TIME_UNIT_S = 12 * 3600
Status = Comment.Status


def rank_for(*, likes: int, liked_by_creator: bool, created_at: datetime) -> float:
    """log10(likes) + a bonus when the creator liked it + age in 12-hour units: ten times
    the likes outweigh being 12 hours newer; the creator's like is worth 100 times the likes.
    Fixed for a comment until its likes change, so cursor pages are stable."""
    age_units = (created_at.timestamp() * 1000 - SWIPEME_EPOCH_MS) / 1000 / RANK_TIME_UNIT_S
    bonus = CREATOR_LIKE_BONUS if liked_by_creator else 0.0
    return math.log10(max(likes, 1)) + bonus + age_units


def _lock_comment(comment_id: int) -> Comment:
    comment = (Comment.objects.select_for_update(of=("self",))
               .select_related("post").filter(pk=comment_id).first())
    if comment is None:
        raise NotFoundError(COMMENT_NOT_FOUND)
    return comment


def _count_visible(comment: Comment, delta: int) -> None:
    """A comment entered (+1) or left (-1) the visible state: move the post's counter and,
    for a reply, its parent's."""
    Post.objects.filter(pk=comment.post_id).update(
        comments_count=Greatest(F("comments_count") + delta, 0))
    if comment.parent_id is not None:
        Comment.objects.filter(pk=comment.parent_id).update(
            replies_count=Greatest(F("replies_count") + delta, 0))


def _set_status(comment: Comment, *, old: Iterable[str], new: str, **extra: object) -> bool:
    """Compare-and-set the status; moves counters by what actually changed."""
    olds = list(old)
    changed = Comment.objects.filter(pk=comment.pk, status__in=olds).update(status=new, **extra)
    if not changed:
        return False
    was_visible = comment.status == Status.VISIBLE
    if was_visible and new != Status.VISIBLE:
        _count_visible(comment, -1)
    elif not was_visible and new == Status.VISIBLE:
        _count_visible(comment, +1)
    comment.status = new
    return True


def _creator_only(actor: User, comment: Comment) -> None:
    if actor.pk != comment.post.author_id:
        raise ForbiddenError("Only the post's creator can do this.", code="not_post_creator")
