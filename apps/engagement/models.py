"""Engagement rows: likes, favourites (in optional named private collections), shares.

The rows are the truth. The counters on `content.Post` (likes/favourites/shares/views)
are owned by `apps.engagement.services`: a write that inserts or deletes a row journals a
+1/-1 `CounterDelta` in its own transaction (`apps.engagement.counters`), and a beat task
flushes the journal onto the posts with F(). `manage.py engagement_reconcile` recomputes
the row-backed counters from the rows (views have no rows: their journal is their record).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from apps.core.models import SnowflakeModel


class Like(SnowflakeModel):
    """`user` likes `post`, once (the unique pair is what makes the counter exact)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", db_index=False)
    post = models.ForeignKey("content.Post", on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "post"], name="engagement_like_unique"),
        ]
        indexes = [
            models.Index(fields=["user", "id"], name="engagement_like_user_id"),  # liked list
            models.Index(fields=["post"], name="engagement_like_post"),  # recount
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.post_id}"


class Collection(SnowflakeModel):
    """A named, private set of favourites. Names are unique per owner, case-insensitively."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+", db_index=False)
    name = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), "owner", name="engagement_collection_name"),
        ]
        indexes = [models.Index(fields=["owner", "id"], name="engagement_collection_owner")]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id})"


class Favourite(SnowflakeModel):
    """`user` saved `post`, once; optionally filed in one of their collections (deleting a
    collection keeps the favourites, unfiled)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", db_index=False)
    post = models.ForeignKey("content.Post", on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    collection = models.ForeignKey(Collection, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="favourites", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "post"], name="engagement_favourite_unique"),
        ]
        indexes = [
            models.Index(fields=["user", "id"], name="engagement_fav_user_id"),
            models.Index(fields=["collection", "id"], name="engagement_fav_collection_id"),
            models.Index(fields=["post"], name="engagement_fav_post"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ⚑ {self.post_id}"


class Share(SnowflakeModel):
    """One share event (every share counts: sharing twice is two shares)."""

    class Channel(models.TextChoices):
        COPY_LINK = "copy_link"
        MESSAGE = "message"
        WHATSAPP = "whatsapp"
        TELEGRAM = "telegram"
        INSTAGRAM = "instagram"
        FACEBOOK = "facebook"
        X = "x"
        SMS = "sms"
        EMAIL = "email"
        OTHER = "other"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", db_index=False)
    post = models.ForeignKey("content.Post", on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["post"], name="engagement_share_post"),
            models.Index(fields=["user", "id"], name="engagement_share_user_id"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ↗ {self.post_id} ({self.channel})"


class EngagementSettings(models.Model):
    """Per-user engagement preferences (kept here, not on accounts.User, because only
    engagement reads them). No row means the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="+")
    show_liked_posts = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"engagement settings of {self.user_id}"


class CounterDelta(SnowflakeModel):
    """A change of a post counter not yet added to the post (`apps.engagement.counters`):
    inserted in the transaction of the write it counts, deleted by the flush that adds it
    to the post, in one transaction. The journal is the truth between flushes, so a Redis
    outage or restart loses no delta."""

    post_id = models.BigIntegerField()  # no foreign key: a post deleted meanwhile is skipped
    field = models.CharField(max_length=20)
    delta = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["post_id"], name="engagement_delta_post")]

    def __str__(self) -> str:
        return f"{self.post_id} {self.field} {self.delta:+d}"
