"""Notifications: one row per thing a person is told in the inbox (a group of likes is one
row), the events that made it (idempotency), per-recipient state (sequence, quiet hours),
preferences and per-creator post subscriptions.

- `Notification.seq` is per recipient and strictly increasing, bumped on every create and
  every time a group grows (under the recipient's `Inbox` row lock, so per recipient the
  commit order is the seq order): a websocket resumes with "everything after seq N".
- `NotificationEvent.key` is unique: a hook that fires twice (at-least-once delivery)
  makes one notification, and a group never counts the same event twice.
- Rows are written with multi-row inserts where many recipients are told at once (the
  follower fan-out): `Notification.id` comes from `allocate_ids`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel


class Inbox(models.Model):
    """One row per recipient who was ever told something or set a preference: the last
    seq handed out (the row is the lock that orders a recipient's writes) and quiet
    hours in the recipient's own time zone."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="+")
    last_seq = models.BigIntegerField(default=0)
    # IANA name ("Europe/Paris"); blank = UTC. Accounts keep no time zone: quiet hours are
    # the only thing that needs one, so it lives with them.
    time_zone = models.CharField(max_length=64, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"inbox of {self.user_id} at {self.last_seq}"


class Notification(SnowflakeModel):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+")
    type = models.CharField(max_length=32)  # apps.notifications.types registry name
    target_type = models.CharField(max_length=16, blank=True)  # post, comment, user, ...
    target_id = models.BigIntegerField(null=True, blank=True)
    # Same key = same group ("like:post:123"); blank = never grouped. The group grows
    # while `group_until` is in the future; after it a new row starts the next group.
    group_key = models.CharField(max_length=96, blank=True)
    group_until = models.DateTimeField(null=True, blank=True)
    # The latest actor first, a few kept for the avatars; actor_count counts them all. A
    # deleted account leaves the group (NULL; selectors show the others who remain).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    actor_count = models.PositiveIntegerField(default=1)
    # What to show that the target does not say (a comment's excerpt, a notice's words).
    data = models.JSONField(default=dict, blank=True)
    seq = models.BigIntegerField()
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "seq"],
                                    name="notifications_recipient_seq_unique"),
        ]
        indexes = [
            # the inbox pages (newest first) and the websocket resume (seq > N)
            models.Index(fields=["recipient", "-seq"], name="notif_recipient_seq"),
            models.Index(fields=["recipient", "type", "-seq"], name="notif_recipient_type"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True),
                         name="notif_recipient_unread"),
            models.Index(fields=["recipient", "group_key", "-group_until"],
                         condition=~Q(group_key=""), name="notif_open_group"),
        ]

    def __str__(self) -> str:
        return f"{self.type} to {self.recipient_id} ({self.actor_count})"


class NotificationEvent(models.Model):
    """One event the hooks announced (a like, a follow): its key makes delivery
    idempotent; the notification it went into, if any (None: dropped by a rule)."""

    key = models.CharField(max_length=128, primary_key=True)
    notification = models.ForeignKey(Notification, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class Delivery(SnowflakeModel):
    """One send of a notification on a channel other than in-app (push now, e-mail
    later), per state of its group: a retried task does not send the same state twice."""

    class Status(models.TextChoices):
        SENT = "sent"
        SKIPPED = "skipped"  # preferences, quiet hours
        RATE_LIMITED = "rate_limited"
        FAILED = "failed"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE,
                                      related_name="deliveries")
    channel = models.CharField(max_length=8)
    seq = models.BigIntegerField()  # the notification's seq this send was for
    status = models.CharField(max_length=16, choices=Status.choices)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel", "seq"],
                                    name="notifications_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} for {self.notification_id}"


class HeldPush(models.Model):
    """A push held through the recipient's quiet hours: the notification's latest state
    (a group that grows meanwhile moves `seq`, one push for it at the end) and when the
    quiet hours end. The sweep (`services.delivery.held_pushes_release`) sends it then,
    unless it was read, grew again or is no longer relevant."""

    notification = models.OneToOneField(Notification, primary_key=True,
                                        on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    due_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"push of {self.notification_id} held until {self.due_at:%Y-%m-%d %H:%M}"


class Preference(models.Model):
    """An override of the default for one type on one channel (types.py holds the
    defaults); rows exist only for what the person changed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    type = models.CharField(max_length=32)
    channel = models.CharField(max_length=8)
    enabled = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "type", "channel"],
                                    name="notifications_preference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.type}/{self.channel}={self.enabled}"


class CreatorPostSubscription(models.Model):
    """Whether a follower is told about a creator's new posts: all of them, the ones the
    ranker picks (personalised, the default for follows), or none."""

    class Level(models.TextChoices):
        ALL = "all"
        PERSONALISED = "personalised"
        OFF = "off"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+")
    level = models.CharField(max_length=16, choices=Level.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "creator"],
                                    name="notifications_creator_sub_unique"),
        ]
        indexes = [
            models.Index(fields=["creator", "level"], name="notif_creator_level"),
            # the new-post fan-out walks a creator's subscribers in follower-id order
            models.Index(fields=["creator", "user"], name="notif_creator_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.creator_id}: {self.level}"


class FanOut(models.Model):
    """The checkpoint of a post's fan-out to the followers who asked for the creator's
    posts: the last follower id told, committed in the same transaction as that batch's
    notifications, so a worker killed mid-way resumes after it (services.fanout). A live's
    start told to the host's followers uses the same checkpoint keyed by the live's id (ids
    are unique across tables: one sequence mints them) and the last follow id done."""

    post_id = models.BigIntegerField(primary_key=True)
    creator_id = models.BigIntegerField()
    after_user_id = models.BigIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    told = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"fan-out of {self.post_id} after {self.after_user_id} ({self.told} told)"


# The tables of e-mail digests (apps.notifications.digest) and of push delivery
# (apps.notifications.push), registered with the app here.
from apps.notifications.digest.models import DigestRun, DigestSetting  # noqa: E402, F401
from apps.notifications.push.models import WebPushSubscription  # noqa: E402, F401
