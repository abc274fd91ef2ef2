"""The creator's moderation of comments on their posts: hiding, and approving or
rejecting what the keyword filter held."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import User
from apps.comments import hooks
from apps.comments.models import Comment
from apps.comments.services._common import Status, _creator_only, _lock_comment, _set_status
from apps.core.errors import ConflictError


def comment_hide(*, creator: User, comment: Comment) -> None:
    """Hide a comment from everyone but its author and the creator. Idempotent."""
    _creator_only(creator, comment)
    with transaction.atomic():
        _set_status(_lock_comment(comment.pk), old=[Status.VISIBLE], new=Status.HIDDEN,
                    is_pinned=False)


def comment_unhide(*, creator: User, comment: Comment) -> None:
    _creator_only(creator, comment)
    with transaction.atomic():
        _set_status(_lock_comment(comment.pk), old=[Status.HIDDEN], new=Status.VISIBLE)


def held_comment_approve(*, creator: User, comment: Comment) -> None:
    """Publish a comment the keyword filter held. Idempotent once approved."""
    _creator_only(creator, comment)
    with transaction.atomic():
        locked = _lock_comment(comment.pk)
        if locked.status == Status.VISIBLE:
            return
        if not _set_status(locked, old=[Status.HELD], new=Status.VISIBLE):
            raise ConflictError("This comment is not waiting for review.", code="not_held")
        # told only now (a held comment told nobody): the post's creator, the mentioned
        hooks.run_comment_approved_hooks(comment_id=locked.pk)


def held_comment_reject(*, creator: User, comment: Comment) -> None:
    _creator_only(creator, comment)
    with transaction.atomic():
        locked = _lock_comment(comment.pk)
        if locked.status == Status.REJECTED:
            return
        if not _set_status(locked, old=[Status.HELD], new=Status.REJECTED):
            raise ConflictError("This comment is not waiting for review.", code="not_held")
