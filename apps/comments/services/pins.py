"""The creator's pinned comment (one per post)."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.comments.services._common import COMMENT_NOT_FOUND, Status, _creator_only, _lock_comment
from apps.content.models import Post
from apps.core.errors import ApplicationError, NotFoundError


def comment_pin(*, creator: User, comment: Comment) -> None:
    """Pin a visible top-level comment; it replaces the post's pinned comment, if any."""
    _creator_only(creator, comment)
    with transaction.atomic():
        # The post row lock serialises pins on one post (the partial unique is the backstop).
        Post.objects.select_for_update().filter(pk=comment.post_id).only("id").first()
        locked = _lock_comment(comment.pk)
        if locked.parent_id is not None:
            raise ApplicationError("Only top-level comments can be pinned.",
                                   code="cannot_pin_reply")
        if locked.status != Status.VISIBLE:
            raise NotFoundError(COMMENT_NOT_FOUND)
        Comment.objects.filter(post_id=locked.post_id, is_pinned=True).exclude(
            pk=locked.pk).update(is_pinned=False)
        Comment.objects.filter(pk=locked.pk).update(is_pinned=True)


def comment_unpin(*, creator: User, comment: Comment) -> None:
    _creator_only(creator, comment)
    Comment.objects.filter(pk=comment.pk).update(is_pinned=False)
