"""The social graph: follows, follow requests (private accounts), blocks and mutes.

Every edge is one row with a time-ordered id, so "newest first" lists page by `-id` on the
edge itself. Each pair is unique in the database (idempotent writes are backed by the
constraint) and nobody can point an edge at themselves. The foreign keys carry no
single-column index of their own: the unique pair index and the (user, id) list indexes
already start with each column.

The counters on `accounts.User` (`followers_count`, `following_count`) are owned by
`apps.social.services` and only move with F() inside the transaction that adds or
removes a Follow row; `manage.py social_recount` rebuilds them from the rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.core.models import SnowflakeModel


class Follow(SnowflakeModel):
    """`follower` follows `followee` (approved, visible in both people's lists)."""

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_edges",
        db_index=False,
    )
    followee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_edges",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"],
                                    name="social_follow_pair_unique"),
            models.CheckConstraint(condition=~Q(follower=F("followee")),
                                   name="social_follow_not_self"),
        ]
        indexes = [
            # followers of X, newest first / following of X, newest first
            models.Index(fields=["followee", "id"], name="social_follow_followee_id"),
            models.Index(fields=["follower", "id"], name="social_follow_follower_id"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} -> {self.followee_id}"


class FollowRequest(SnowflakeModel):
    """A pending request to follow a private account. Only pending requests exist: approving
    turns the row into a Follow, denying deletes it."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_follow_requests",
        db_index=False,
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
        related_name="received_follow_requests", db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["requester", "target"],
                                    name="social_followrequest_pair_unique"),
            models.CheckConstraint(condition=~Q(requester=F("target")),
                                   name="social_followrequest_not_self"),
        ]
        indexes = [
            models.Index(fields=["target", "id"], name="social_followreq_target_id"),
        ]

    def __str__(self) -> str:
        return f"{self.requester_id} -?> {self.target_id}"


class Block(SnowflakeModel):
    """`blocker` blocked `blocked`: neither sees the other, neither can follow the other."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made",
        db_index=False,
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"],
                                    name="social_block_pair_unique"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")),
                                   name="social_block_not_self"),
        ]
        indexes = [
            models.Index(fields=["blocker", "id"], name="social_block_blocker_id"),
            # "who blocked me" (blocked_user_ids looks both ways)
            models.Index(fields=["blocked", "blocker"], name="social_block_blocked_blocker"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} x {self.blocked_id}"


class Mute(SnowflakeModel):
    """`muter` hides `muted`'s content without telling them: nothing changes for `muted`."""

    muter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_made",
        db_index=False,
    )
    muted = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="social_mute_pair_unique"),
            models.CheckConstraint(condition=~Q(muter=F("muted")), name="social_mute_not_self"),
        ]
        indexes = [
            models.Index(fields=["muter", "id"], name="social_mute_muter_id"),
        ]

    def __str__(self) -> str:
        return f"{self.muter_id} ~ {self.muted_id}"
