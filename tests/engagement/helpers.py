"""Assertions shared by the engagement tests."""

from __future__ import annotations

from typing import Any

from apps.content.models import Post
from apps.engagement.models import Collection, Favourite, Like, Share


def engagement_snapshot() -> dict[str, Any]:
    """Everything an engagement write could change: rows and every post's counters (after
    a flush, so that pending Redis deltas show)."""
    from apps.engagement import counters

    counters.flush()
    return {
        "likes": set(Like.objects.values_list("user_id", "post_id")),
        "favourites": set(Favourite.objects.values_list("user_id", "post_id", "collection_id")),
        "shares": set(Share.objects.values_list("user_id", "post_id", "channel")),
        "collections": set(Collection.objects.values_list("id", "owner_id", "name")),
        "counters": set(Post.objects.values_list("id", "likes_count", "favourites_count",
                                                  "shares_count", "views_count")),
    }


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]  # type: ignore[no-any-return]
