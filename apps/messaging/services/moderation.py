"""Moderators' decisions on a direct message, reaching messaging through moderation's
`message_hooks` (registered in `receivers.connect`; moderation never imports messaging).

A removal is an unsend that nobody chose: the message becomes a tombstone for every
member (`Message.State.REMOVED`: no text, cards, media or reactions; the clients say it
was removed for breaking the Community Guidelines), with a fresh change_seq under the
conversation's row lock like every other change. Its content stays in the row so that a
granted appeal can put it back; its reactions are gone for good."""

from __future__ import annotations

from django.db import transaction

from apps.messaging import offline
from apps.messaging.models import Message, Reaction
from apps.messaging.services._common import (
    active_user_ids,
    announce_inbox,
    announce_message,
    lock_conversation,
    next_seq,
)


def _change(message_id: int, *, from_state: str, to_state: str) -> bool:
    conversation_id = (Message.objects.filter(pk=message_id)
                       .values_list("conversation_id", flat=True).first())
    if conversation_id is None:
        return False
    with transaction.atomic():
        conversation = lock_conversation(conversation_id)
        # read under the lock: an unsend or edit that committed meanwhile is seen here
        message = Message.objects.get(pk=message_id)
        if message.state != from_state or message.seq is None:
            return False
        if to_state == Message.State.REMOVED:
            Reaction.objects.filter(message=message).delete()
        message.state = to_state
        message.change_seq = next_seq(conversation, new_message=False)
        message.save(update_fields=["state", "change_seq"])
        announce_message(message)
        members = active_user_ids(conversation_id)
        # every member's inbox row (its preview may be this message) and notifications
        announce_inbox(members, conversation_id)
        offline.quoted_message_changed(message, members)
    return True


def remove_by_moderation(*, message_id: int) -> bool:
    """Take a message down for everyone (moderation's `remove`). False when there is
    nothing to take down (unsent meanwhile, already removed, never delivered)."""
    return _change(message_id, from_state=Message.State.VISIBLE,
                   to_state=Message.State.REMOVED)


def restore_by_moderation(*, message_id: int) -> bool:
    """Put a removed message back (an appeal granted): its text, cards and media again,
    announced like an edit."""
    return _change(message_id, from_state=Message.State.REMOVED,
                   to_state=Message.State.VISIBLE)
