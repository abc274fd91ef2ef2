"""Hooks that higher apps (moderation) register with comments. Comments never imports them.

`register_comment_created_hook`: called after the commit that created a comment, with its
id (moderation scans the text)."""

from __future__ import annotations

from typing import Protocol


class CommentCreatedHook(Protocol):
    def __call__(self, *, comment_id: int) -> object: ...


_created_hooks: list[CommentCreatedHook] = []


def register_comment_created_hook(fn: CommentCreatedHook) -> CommentCreatedHook:
    if fn not in _created_hooks:
        _created_hooks.append(fn)
    return fn


def run_comment_created_hooks(*, comment_id: int) -> None:
    for hook in list(_created_hooks):
        hook(comment_id=comment_id)
