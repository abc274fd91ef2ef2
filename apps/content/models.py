from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel


class Post(TimestampedModel):
    """A video post. The media lives in `media.MediaAsset`; counters are owned by the
    engagement and comments services and only move with F() (or the Redis flush)."""

    class Visibility(models.TextChoices):
        PUBLIC = "public"
        FRIENDS = "friends"
        PRIVATE = "private"

    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        PROCESSING = "processing"  # publish requested, waiting for the media to be playable
        PUBLISHED = "published"
        REMOVED = "removed"

    class CommentPolicy(models.TextChoices):
        EVERYONE = "everyone"
        FRIENDS = "friends"
        OFF = "off"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    asset = models.ForeignKey(
        "media.MediaAsset", on_delete=models.PROTECT, related_name="posts"
    )
    caption = models.CharField(max_length=2200, blank=True)
    language = models.CharField(max_length=16, blank=True)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    comment_policy = models.CharField(
        max_length=8, choices=CommentPolicy.choices, default=CommentPolicy.EVERYONE
    )
    allow_duet = models.BooleanField(default=True)
    allow_stitch = models.BooleanField(default=True)
    allow_download = models.BooleanField(default=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    likes_count = models.PositiveIntegerField(default=0)
    comments_count = models.PositiveIntegerField(default=0)
    shares_count = models.PositiveIntegerField(default=0)
    views_count = models.PositiveBigIntegerField(default=0)
    favourites_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["author", "-id"], name="content_post_author_recent"),
            models.Index(
                fields=["scheduled_for"],
                name="content_post_due",
                condition=models.Q(status="scheduled"),
            ),
        ]

    def __str__(self) -> str:
        return f"post {self.pk} by {self.author_id}"
