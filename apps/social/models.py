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

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import BaseConstraint, F, Q

from apps.core.models import SnowflakeModel


class UserEdge(SnowflakeModel):
    """One person's edge toward another (follow, request, block, mute). Each subclass
    declares its two foreign keys and names them: `source_field` made the edge,
    `target_field` is the one it points at."""

    source_field: ClassVar[str]
    target_field: ClassVar[str]
    arrow: ClassVar[str]  # how __str__ draws it

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @classmethod
    def pair(cls, source_id: int, target_id: int) -> dict[str, Any]:
        """Lookup keywords for the edge from `source_id` to `target_id`."""
        return {f"{cls.source_field}_id": source_id, f"{cls.target_field}_id": target_id}

    @classmethod
    def touching(cls, user_id: int) -> Q:
        """Edges made by or pointing at `user_id`."""
        return Q(**{f"{cls.source_field}_id": user_id}) | Q(**{f"{cls.target_field}_id": user_id})

    def __str__(self) -> str:
        source = getattr(self, f"{self.source_field}_id")
        target = getattr(self, f"{self.target_field}_id")
        return f"{source} {self.arrow} {target}"


def pair_constraints(prefix: str, source: str, target: str) -> list[BaseConstraint]:
    """Each pair once (idempotent writes lean on it), and never toward oneself."""
    return [
        models.UniqueConstraint(fields=[source, target], name=f"{prefix}_pair_unique"),
        models.CheckConstraint(condition=~Q(**{source: F(target)}), name=f"{prefix}_not_self"),
    ]


class Follow(UserEdge):
    """`follower` follows `followee` (approved, visible in both people's lists)."""

    source_field, target_field, arrow = "follower", "followee", "->"

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_edges",
        db_index=False,
    )
    followee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_edges",
        db_index=False,
    )

    class Meta:
        constraints = pair_constraints("social_follow", "follower", "followee")
        indexes = [
            # followers of X, newest first / following of X, newest first
            models.Index(fields=["followee", "id"], name="social_follow_followee_id"),
            models.Index(fields=["follower", "id"], name="social_follow_follower_id"),
        ]


class FollowRequest(UserEdge):
    """A pending request to follow a private account. Only pending requests exist: approving
    turns the row into a Follow, denying deletes it."""

    source_field, target_field, arrow = "requester", "target", "-?>"

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_follow_requests",
        db_index=False,
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
        related_name="received_follow_requests", db_index=False,
    )

    class Meta:
        constraints = pair_constraints("social_followrequest", "requester", "target")
        indexes = [
            models.Index(fields=["target", "id"], name="social_followreq_target_id"),
        ]


class Block(UserEdge):
    """`blocker` blocked `blocked`: neither sees the other, neither can follow the other."""

    source_field, target_field, arrow = "blocker", "blocked", "x"

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made",
        db_index=False,
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received",
        db_index=False,
    )

    class Meta:
        constraints = pair_constraints("social_block", "blocker", "blocked")
        indexes = [
            models.Index(fields=["blocker", "id"], name="social_block_blocker_id"),
            # "who blocked me" (blocked_user_ids looks both ways)
            models.Index(fields=["blocked", "blocker"], name="social_block_blocked_blocker"),
        ]


class Mute(UserEdge):
    """`muter` hides `muted`'s content without telling them: nothing changes for `muted`."""

    source_field, target_field, arrow = "muter", "muted", "~"

    muter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_made",
        db_index=False,
    )
    muted = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
        db_index=True,
    )

    class Meta:
        constraints = pair_constraints("social_mute", "muter", "muted")
        indexes = [
            models.Index(fields=["muter", "id"], name="social_mute_muter_id"),
        ]


class Membership(SnowflakeModel):
    """`member` may see `creator`'s subscriber-only posts until `until` (the content
    visibility rule reads it: an EXISTS with `until > now()`, so access lapses by itself
    even if no task runs). The paid relationship behind it (tiers, periods, payments) is
    monetization's; it writes here only through `social.services.membership_*`."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+", db_index=False)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+", db_index=False)
    until = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = pair_constraints("social_membership", "member", "creator")
        indexes = [models.Index(fields=["creator", "until"], name="social_membership_creator")]

    def __str__(self) -> str:
        return f"{self.member_id} member of {self.creator_id} until {self.until:%Y-%m-%d %H:%M}"
