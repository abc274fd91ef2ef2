"""Assertions shared by the content tests."""

from __future__ import annotations

from typing import Any

from apps.content.models import Hashtag, Mention, Post, PostHashtag, Sound


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]  # type: ignore[no-any-return]


def content_snapshot() -> dict[str, Any]:
    """Everything a content write could change."""
    return {
        "posts": set(Post.objects.values_list(
            "id", "author_id", "asset_id", "caption", "status", "visibility", "comment_policy",
            "allow_duet", "allow_stitch", "allow_download", "language", "scheduled_for",
            "published_at", "pinned_at", "sound_id", "sound_mix", "cover_time_ms")),
        "hashtags": set(Hashtag.objects.values_list("id", "name", "posts_count")),
        "post_hashtags": set(PostHashtag.objects.values_list("post_id", "hashtag_id")),
        "mentions": set(Mention.objects.values_list("post_id", "user_id")),
        "sounds": set(Sound.objects.values_list("id", "kind", "allow_reuse", "posts_count")),
    }
