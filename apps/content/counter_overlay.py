"""What a post's counters show: the Postgres value plus what is still buffered elsewhere.

Engagement buffers likes, favourites, shares and views in Redis and flushes them to
`Post` every few seconds (`apps.engagement.counters`). Content cannot import engagement (it
is a lower layer), so engagement registers its reader of the pending deltas here, and the
post output adds them: one call per page (the reader answers for a whole page in one
Redis round trip). Comments move `comments_count` in Postgres directly: nothing pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from apps.content.models import Post
from apps.core.hooks import Hook

COUNTER_FIELDS = ("likes_count", "comments_count", "shares_count", "views_count",
                  "favourites_count")


class PendingReader(Protocol):
    def __call__(self, post_ids: Iterable[int]) -> Mapping[int, Mapping[str, int]]: ...


_readers: Hook[PendingReader] = Hook("content.pending_counters")
register_pending_reader = _readers.register


Pending = dict[int, dict[str, int]]


def pending_for(post_ids: Iterable[int]) -> Pending:
    """{post id: {field: delta}} from every registered reader (summed)."""
    ids = list(dict.fromkeys(post_ids))
    out: Pending = {}
    if not ids:
        return out
    for reader in _readers:
        for post_id, deltas in reader(ids).items():
            bucket = out.setdefault(post_id, {})
            for field, delta in deltas.items():
                bucket[field] = bucket.get(field, 0) + delta
    return out


def shown_counters(post: Post, pending: Pending) -> dict[str, int]:
    """The post's counters as clients see them (never below zero)."""
    deltas = pending.get(post.pk, {})
    return {field: max(int(getattr(post, field)) + deltas.get(field, 0), 0)
            for field in COUNTER_FIELDS}
