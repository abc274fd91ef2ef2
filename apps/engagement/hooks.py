"""Hooks that higher apps (notifications) register with engagement. Engagement never
imports them.

`register_post_liked_hook`: called in the transaction that created a like (not again for
the same like: a repeated like is a no-op), with who liked which post."""

from __future__ import annotations

from typing import Protocol

from apps.core.hooks import Hook


class PostLikedHook(Protocol):
    def __call__(self, *, user_id: int, post_id: int) -> object: ...


_liked_hooks: Hook[PostLikedHook] = Hook("engagement.post_liked")
register_post_liked_hook = _liked_hooks.register


def run_post_liked_hooks(*, user_id: int, post_id: int) -> None:
    for hook in _liked_hooks:
        hook(user_id=user_id, post_id=post_id)
