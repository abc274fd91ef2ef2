"""Assertions shared by the comments tests."""

from __future__ import annotations

from typing import Any

from apps.comments.models import Comment, CommenterBan, CommentFilter, CommentLike, CommentMention
from apps.content.models import Post


def comments_snapshot() -> dict[str, Any]:
    """Everything a comment write could change."""
    return {
        "comments": set(Comment.objects.values_list(
            "id", "post_id", "parent_id", "author_id", "text", "status", "is_pinned",
            "likes_count", "replies_count", "liked_by_creator")),
        "likes": set(CommentLike.objects.values_list("user_id", "comment_id")),
        "mentions": set(CommentMention.objects.values_list("comment_id", "user_id")),
        "filters": set(CommentFilter.objects.values_list("creator_id", "keyword")),
        "bans": set(CommenterBan.objects.values_list("creator_id", "user_id")),
        "post_counters": set(Post.objects.values_list("id", "comments_count")),
    }


def assert_counters_match_rows() -> None:
    for post in Post.objects.all():
        visible = Comment.objects.filter(post=post, status="visible").count()
        assert post.comments_count == visible, post
    for comment in Comment.objects.all():
        assert comment.likes_count == CommentLike.objects.filter(comment=comment).count()
        if comment.parent_id is None and comment.status == "visible":
            replies = Comment.objects.filter(parent=comment, status="visible").count()
            assert comment.replies_count == replies, comment


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]  # type: ignore[no-any-return]
