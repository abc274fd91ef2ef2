"""The one upward question events asks: which of a batch's posts may its sender see?

Events sits just above `core` and knows nothing of posts; content registers the answer in
its `AppConfig.ready()` (its visibility rule, one query per batch). With nothing
registered (events on its own) every post id is kept."""

from __future__ import annotations

from collections.abc import Set
from typing import Protocol

from apps.core.hooks import Hook


class VisiblePostsFilter(Protocol):
    def __call__(self, *, viewer: object, post_ids: Set[int]) -> Set[int]:
        """The subset of `post_ids` that `viewer` (the request's user, signed in or
        anonymous) may see; unknown ids are not in it."""
        ...


_filters: Hook[VisiblePostsFilter] = Hook("events.visible_posts_filter")
register_visible_posts_filter = _filters.register
unregister_visible_posts_filter = _filters.remove


def visible_post_ids(*, viewer: object, post_ids: Set[int]) -> Set[int]:
    """The post ids every registered filter keeps (all of them when none is registered)."""
    kept: Set[int] = post_ids
    for fn in _filters:
        if not kept:
            break
        kept = fn(viewer=viewer, post_ids=kept)
    return kept
