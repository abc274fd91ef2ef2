"""Comment likes: the counter, the creator's-like flag and the rank move together under
the comment's row lock."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from apps.accounts.models import User
from apps.comments import hooks
from apps.comments.models import Comment, CommentLike
from apps.comments.services._common import COMMENT_NOT_FOUND, Status, _lock_comment, rank_for
from apps.core.errors import NotFoundError


def comment_like_create(*, user: User, comment: Comment) -> bool:
    """Like a visible comment. Idempotent. The comment row is locked while its counter and
    rank move, so the rank always matches the count."""
    with transaction.atomic():
        locked = _lock_comment(comment.pk)
        if locked.status != Status.VISIBLE:
            raise NotFoundError(COMMENT_NOT_FOUND)
        _, created = CommentLike.objects.get_or_create(user_id=user.pk, comment_id=locked.pk)
        if created:
            by_creator = locked.liked_by_creator or user.pk == locked.post.author_id
            Comment.objects.filter(pk=locked.pk).update(
                likes_count=F("likes_count") + 1, liked_by_creator=by_creator,
                rank=rank_for(likes=locked.likes_count + 1, liked_by_creator=by_creator,
                              created_at=locked.created_at))
            hooks.run_comment_liked_hooks(user_id=user.pk, comment_id=locked.pk)
    return created


def comment_like_delete(*, user: User, comment_id: int) -> bool:
    """Remove the user's own like. Idempotent, and the same answer for any id (an unknown
    comment, or one the user may no longer see): it reveals nothing, touches only their row."""
    if not CommentLike.objects.filter(user_id=user.pk, comment_id=comment_id).exists():
        return False
    with transaction.atomic():
        locked = (Comment.objects.select_for_update(of=("self",))
                  .select_related("post").filter(pk=comment_id).first())
        if locked is None:
            return False
        deleted, _ = CommentLike.objects.filter(user_id=user.pk, comment_id=locked.pk).delete()
        if deleted:
            by_creator = locked.liked_by_creator and user.pk != locked.post.author_id
            likes = max(locked.likes_count - deleted, 0)
            Comment.objects.filter(pk=locked.pk).update(
                likes_count=Greatest(F("likes_count") - deleted, 0), liked_by_creator=by_creator,
                rank=rank_for(likes=likes, liked_by_creator=by_creator,
                              created_at=locked.created_at))
    return bool(deleted)
