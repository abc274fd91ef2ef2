"""Direct messages: conversations (one-to-one and groups), their members, messages,
reactions and each person's messaging settings.

Access pattern (the one a wide-column store would keep, see docs/architecture.md): a
conversation's messages are read by `(conversation_id, seq)` ranges and its changes by
`(conversation_id, change_seq)`; a person's inbox by `(user_id, last_activity_at)` on their
`Participant` rows. Nothing joins across conversations on the message path.

Sequence numbers, per conversation, handed out under the `Conversation` row lock (so commit
order is seq order):
- `Message.seq` is the message's place in the thread, given when it becomes visible to the
  other members (a media message waiting for its checks has none yet).
- `Message.change_seq` is the seq of its latest change: equal to `seq` when it appears,
  moved to a fresh seq by an edit, an unsend or a reaction. A client that resumes asks
  for every message whose `change_seq` is past the last seq it saw, and so also gets the
  edits and unsends it missed.
System messages (member added/removed/left, renamed) are messages too: they take a seq.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel


class Conversation(SnowflakeModel):
    class Kind(models.TextChoices):
        DIRECT = "direct", "One-to-one"
        GROUP = "group", "Group"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=64, blank=True)  # groups only
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # "<smaller user id>:<larger user id>" for a one-to-one: one conversation per pair.
    direct_key = models.CharField(max_length=41, null=True, blank=True, unique=True)
    last_seq = models.BigIntegerField(default=0)  # the seq allocator (row lock)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} conversation {self.pk}"


class Participant(SnowflakeModel):
    """One person's membership of a conversation and their own view of it."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Admin"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        LEFT = "left", "Left"
        REMOVED = "removed", "Removed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    # Message requests: null while the conversation sits in this person's Requests (someone
    # they do not follow wrote first); set when they accept, or reply, or started it.
    accepted_at = models.DateTimeField(null=True, blank=True)
    joined_seq = models.BigIntegerField(default=0)  # sees messages with seq > joined_seq
    last_read_seq = models.BigIntegerField(default=0)
    cleared_seq = models.BigIntegerField(default=0)  # "delete chat for me": hides seq <= it
    unread_count = models.PositiveIntegerField(default=0)
    # the inbox's order: this person's view of the latest activity (own sends included)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    muted_until = models.DateTimeField(null=True, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"],
                                    name="messaging_participant_unique"),
        ]
        indexes = [
            # the inbox list: a person's active conversations, latest activity first
            models.Index(fields=["user", "-last_activity_at"],
                         condition=Q(state="active"), name="messaging_inbox_order"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id} ({self.state})"


class Message(SnowflakeModel):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        POST = "post", "Shared post"
        PROFILE = "profile", "Shared profile"
        MEDIA = "media", "Image or video"
        SYSTEM = "system", "System"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for checks"  # media not yet checked: sender only
        VISIBLE = "visible", "Visible"
        REJECTED = "rejected", "Refused by the checks"  # sender only, with the reason
        UNSENT = "unsent", "Unsent"  # deleted for everyone: a tombstone, no content
        # taken down by a moderator: a tombstone for everyone; the content is kept so that
        # an appeal granted can put it back (services.moderation)
        REMOVED = "removed", "Removed by moderation"

    # What a member sees of these is a tombstone: no text, cards, media or reactions.
    WITHOUT_CONTENT: ClassVar[frozenset[str]] = frozenset({State.UNSENT, State.REMOVED})

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    # The sender's own id for the message (a UUID the client makes): a retry finds the
    # first attempt instead of sending twice.
    client_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    state = models.CharField(max_length=8, choices=State.choices, default=State.VISIBLE)
    body = models.TextField(blank=True)
    shared_post = models.ForeignKey("content.Post", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    shared_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    asset = models.ForeignKey("media.MediaAsset", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    mentions = models.JSONField(default=list, blank=True)  # user ids mentioned in body
    # system messages: what happened ({"event": "added", "actor": id, "users": [ids]})
    data = models.JSONField(default=dict, blank=True)
    refusal = models.CharField(max_length=300, blank=True)  # why it was REJECTED, in words
    seq = models.BigIntegerField(null=True, blank=True)
    change_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    unsent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"],
                                    name="messaging_message_seq_unique"),
            models.UniqueConstraint(fields=["conversation", "sender", "client_id"],
                                    name="messaging_message_client_id_unique"),
        ]
        indexes = [
            # resume after a reconnect: every change past the client's last seq
            models.Index(fields=["conversation", "change_seq"],
                         name="messaging_message_changes"),
        ]

    def __str__(self) -> str:
        return f"message {self.seq} in {self.conversation_id}"


class Reaction(SnowflakeModel):
    """One reaction per person per message (a new one replaces theirs)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    emoji = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"],
                                    name="messaging_reaction_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class HiddenMessage(models.Model):
    """A message someone deleted for themselves only; it stays for everyone else."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "message"],
                                    name="messaging_hidden_unique"),
        ]

    def __str__(self) -> str:
        return f"message {self.message_id} hidden for {self.user_id}"


class MessagingSettings(models.Model):
    """Who may message this person, and whether they show read receipts."""

    class WhoCanMessage(models.TextChoices):
        EVERYONE = "everyone", "Everyone"
        FOLLOWING = "following", "People I follow"
        FRIENDS = "friends", "Friends (we follow each other)"
        NO_ONE = "no_one", "No one"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="+")
    who_can_message = models.CharField(max_length=10, choices=WhoCanMessage.choices,
                                       default=WhoCanMessage.EVERYONE)
    read_receipts = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"messaging settings of {self.user_id}"
