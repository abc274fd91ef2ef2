"""What the messaging use cases share: the seq allocator (the conversation's row lock),
the after-commit announcements and the limits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError, ForbiddenError
from apps.messaging import live
from apps.messaging.models import Conversation, Message, Participant

GROUP_MAX_MEMBERS = 32
GROUP_NAME_MAX = 64
BODY_MAX = 4000
CLIENT_ID_MAX = 64
EMOJI_MAX = 16
EDIT_WINDOW_MINUTES = 15


def lock_conversation(conversation_id: int) -> Conversation:
    """The conversation row, locked until the transaction ends: whoever holds it hands out
    the next seqs, so commit order is seq order. Call inside `transaction.atomic()`."""
    return Conversation.objects.select_for_update().get(pk=conversation_id)


def next_seq(conversation: Conversation, *, new_message: bool) -> int:
    """The next seq of a locked conversation (saved at once). `new_message` also moves
    the conversation's last_message_at (the inbox's preview time)."""
    conversation.last_seq += 1
    fields = ["last_seq"]
    if new_message:
        conversation.last_message_at = timezone.now()
        fields.append("last_message_at")
    conversation.save(update_fields=fields)
    return conversation.last_seq


def system_message(conversation: Conversation, actor: User | None, event: str,
                   **data: Any) -> Message:
    """A member added/removed/left, a rename, a role change: a message with a seq, so it
    is in every member's thread in order (the conversation must be locked)."""
    seq = next_seq(conversation, new_message=True)
    return Message.objects.create(
        conversation=conversation, sender=actor, client_id=str(uuid.uuid4()),
        kind=Message.Kind.SYSTEM, data={"event": event,
                                        "actor": str(actor.pk) if actor else None, **data},
        seq=seq, change_seq=seq)


def require_admin(participant: Participant) -> None:
    if participant.conversation.kind != Conversation.Kind.GROUP:
        raise ApplicationError("Only a group has members to manage.", code="not_a_group")
    if participant.role != Participant.Role.ADMIN:
        raise ForbiddenError("Only the group's admins can do this.", code="not_admin")


def announce_message(message: Message) -> None:
    """Tell the live connections, after the commit, that a message appeared or changed."""
    transaction.on_commit(lambda: live.message_changed(message))


def announce_inbox(user_ids: Iterable[int], conversation_id: int, *,
                   new_message_id: int | None = None,
                   sender_blocked: set[int] | None = None) -> None:
    ids = list(user_ids)
    transaction.on_commit(lambda: live.inbox_changed(
        ids, conversation_id, new_message_id=new_message_id, sender_blocked=sender_blocked))


def announce_read(participant: Participant) -> None:
    transaction.on_commit(lambda: live.read_moved(participant))


def active_user_ids(conversation_id: int) -> list[int]:
    return list(Participant.objects.filter(conversation_id=conversation_id,
                                           state=Participant.State.ACTIVE)
                .values_list("user_id", flat=True))
