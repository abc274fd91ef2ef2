"""Deleting a comment (its author or the post's creator), and moderation's removal and
restoration after an appeal."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.comments.services._common import Status, _lock_comment, _set_status
from apps.content.models import Post
from apps.core.errors import ApplicationError, ForbiddenError


def comment_delete(*, actor: User, comment: Comment) -> None:
    """Delete a comment (its author or the post's creator). Deleting a top-level comment
    deletes its replies. Idempotent."""
    if actor.pk not in (comment.author_id, comment.post.author_id):
        raise ForbiddenError("Only the comment's author or the post's creator can delete it.",
                             code="not_comment_owner")
    with transaction.atomic():
        locked = _lock_comment(comment.pk)
        live = (Status.VISIBLE, Status.HELD, Status.HIDDEN)
        _set_status(locked, old=live, new=Status.DELETED, is_pinned=False)
        if locked.parent_id is None:
            gone = Comment.objects.filter(parent_id=locked.pk, status=Status.VISIBLE).update(
                status=Status.DELETED)
            Comment.objects.filter(parent_id=locked.pk, status__in=live).update(
                status=Status.DELETED)
            if gone:
                Post.objects.filter(pk=locked.post_id).update(
                    comments_count=Greatest(F("comments_count") - gone, 0))
                Comment.objects.filter(pk=locked.pk).update(replies_count=0)


def comment_remove(*, comment_id: int) -> str | None:
    """For moderation's enforcement service: take a comment down for everyone (its replies
    stay). Returns the status it had, for `comment_restore`; None when already gone."""
    with transaction.atomic():
        locked = _lock_comment(comment_id)
        prior = locked.status
        live = (Status.VISIBLE, Status.HELD, Status.HIDDEN)
        if not _set_status(locked, old=live, new=Status.DELETED, is_pinned=False):
            return None
    return prior


def comment_restore(*, comment_id: int, status: str) -> bool:
    """For moderation: an appeal overturned a removal; the comment gets back the status
    `comment_remove` returned. Idempotent."""
    if status not in (Status.VISIBLE, Status.HELD, Status.HIDDEN):
        raise ApplicationError("A comment can only be restored to a live status.",
                               code="invalid_status")
    with transaction.atomic():
        return _set_status(_lock_comment(comment_id), old=[Status.DELETED], new=status)
