"""Hooks that higher apps (moderation) register with comments. Comments never imports them.

`register_comment_created_hook`: called after the commit that created a comment, with its
id (moderation scans the text; notifications tells the post's creator, the replied-to and
the mentioned).
`register_comment_liked_hook`: called in the transaction that created a comment like.
`register_comment_approved_hook`: called in the transaction in which the creator approved a
comment their keyword filter held (it is visible only now: notifications tells then whom
the comment-created hook would have told, as the comment was held)."""

from __future__ import annotations

from typing import Protocol

from apps.core.hooks import Hook


class CommentCreatedHook(Protocol):
    def __call__(self, *, comment_id: int) -> object: ...


_created_hooks: Hook[CommentCreatedHook] = Hook("comments.comment_created")
register_comment_created_hook = _created_hooks.register


def run_comment_created_hooks(*, comment_id: int) -> None:
    for hook in _created_hooks:
        hook(comment_id=comment_id)


class CommentApprovedHook(Protocol):
    def __call__(self, *, comment_id: int) -> object: ...


_approved_hooks: Hook[CommentApprovedHook] = Hook("comments.comment_approved")
register_comment_approved_hook = _approved_hooks.register


def run_comment_approved_hooks(*, comment_id: int) -> None:
    for hook in _approved_hooks:
        hook(comment_id=comment_id)


class CommentLikedHook(Protocol):
    def __call__(self, *, user_id: int, comment_id: int) -> object: ...


_liked_hooks: Hook[CommentLikedHook] = Hook("comments.comment_liked")
register_comment_liked_hook = _liked_hooks.register


def run_comment_liked_hooks(*, user_id: int, comment_id: int) -> None:
    for hook in _liked_hooks:
        hook(user_id=user_id, comment_id=comment_id)
