"""Comments on posts: two levels (top-level comments and their replies), likes, one pinned
comment per post, creator moderation (hide, keyword filter with a review queue, commenter
bans) and the @mentions that notifications will deliver.

Counters: `content.Post.comments_count` counts the post's comments in status `visible`
(top-level and replies); `Comment.replies_count` counts a top-level comment's visible
replies; `Comment.likes_count` its CommentLike rows. `apps.comments.services` moves them
with F() in the transaction that changes a row; `manage.py comments_reconcile` recomputes
them from the rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from apps.core.models import SnowflakeModel

MAX_COMMENT_LENGTH = 500


class Comment(SnowflakeModel):
    class Status(models.TextChoices):
        VISIBLE = "visible"
        HELD = "held"  # matched the creator's keyword filter: author and creator see it
        HIDDEN = "hidden"  # hidden by the creator: author and creator see it
        REJECTED = "rejected"  # the creator rejected a held comment
        DELETED = "deleted"  # deleted by its author or the creator

    post = models.ForeignKey("content.Post", on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+", db_index=False)
    # The top-level comment this replies to (replies to replies are flattened onto it).
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="replies", db_index=False)
    # Whom a reply answers (the @mention a reply to a reply starts with).
    reply_to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                      null=True, blank=True, related_name="+")
    text = models.CharField(max_length=MAX_COMMENT_LENGTH)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VISIBLE)
    is_pinned = models.BooleanField(default=False)
    liked_by_creator = models.BooleanField(default=False)
    likes_count = models.PositiveIntegerField(default=0)
    replies_count = models.PositiveIntegerField(default=0)
    # The "top" order: log10(likes) + a bonus when the creator liked it + creation time in
    # units of 12 hours. Fixed for a comment until its likes change, so pages are stable.
    rank = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)
    # The client's Idempotency-Key of the request that created it (apps.core.idempotency):
    # a retry with the same key returns this comment instead of posting it again.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post"], condition=Q(is_pinned=True),
                                    name="comments_one_pinned_per_post"),
            models.UniqueConstraint(fields=["author", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="comments_author_idempotency_key"),
            models.CheckConstraint(condition=Q(parent__isnull=True) | Q(is_pinned=False),
                                   name="comments_only_top_level_pinned"),
        ]
        indexes = [
            models.Index(fields=["post", "-rank", "-id"], name="comments_top",
                         condition=Q(parent__isnull=True)),
            models.Index(fields=["post", "-id"], name="comments_new",
                         condition=Q(parent__isnull=True)),
            models.Index(fields=["parent", "id"], name="comments_replies",
                         condition=Q(parent__isnull=False)),
            models.Index(fields=["post", "status"], name="comments_post_status"),
            models.Index(fields=["author", "id"], name="comments_author"),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.post_id}"


class CommentLike(SnowflakeModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", db_index=False)
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "comment"], name="comments_like_unique"),
        ]
        indexes = [models.Index(fields=["comment"], name="comments_like_comment")]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ comment {self.comment_id}"


class CommentMention(SnowflakeModel):
    """`user` was @mentioned in `comment` (for the notifications app to deliver)."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mentions",
                                db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="comments_mention_unique"),
        ]
        indexes = [models.Index(fields=["user", "id"], name="comments_mention_user")]

    def __str__(self) -> str:
        return f"@{self.user_id} in {self.comment_id}"


class CommentFilter(SnowflakeModel):
    """A creator's keyword: comments on their posts that contain it are held for review."""

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+", db_index=False)
    keyword = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("creator", Lower("keyword"), name="comments_filter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.creator_id}: {self.keyword}"


class CommenterBan(SnowflakeModel):
    """`creator` removed `user` from commenting on their posts."""

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creator", "user"], name="comments_ban_unique"),
        ]
        indexes = [models.Index(fields=["creator", "id"], name="comments_ban_creator")]

    def __str__(self) -> str:
        return f"{self.creator_id} bans {self.user_id}"
