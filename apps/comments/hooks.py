"""Hooks that higher apps (moderation) register with comments. Comments never imports them.

`register_comment_created_hook`: called after the commit that created a comment, with its
id (moderation scans the text)."""

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
