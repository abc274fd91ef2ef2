"""Telling an offline member of a new direct message through the notifications app (in-app
and push, per their notification preferences and quiet hours): one notification per
conversation that grows with each message while unread ("maya sent you 3 messages"),
read when they read the thread (`live.read_moved`).

`live.message_changed` picks who is offline (no `ws/messages/` connection) after the send
commits and queues `tasks.notify_offline`; here, when the task runs, the message and the
members are read again: nothing for a message unsent or refused since, nor for a member who
left, was removed or muted the conversation meanwhile. The notifications app's own rules
(blocks, mutes of the sender, preferences, a gone account) apply on top."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from apps.messaging.models import Conversation, Message, Participant
from apps.notifications import services as notifications
from apps.notifications import types
from apps.notifications.services import Candidate

EXCERPT = 120
KIND_WORDS = {Message.Kind.POST: "Shared a video", Message.Kind.PROFILE: "Shared a profile",
              Message.Kind.MEDIA: "Sent a photo or video"}


def excerpt(message: Message) -> str:
    if message.kind != Message.Kind.TEXT:
        return KIND_WORDS.get(Message.Kind(message.kind), "")
    text = " ".join(message.body.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


GONE_WORDS = {Message.State.UNSENT: "Message unsent",
              Message.State.REMOVED: "Message removed"}


def quoted_message_changed(message: Message, member_ids: Iterable[int]) -> int:
    """A message the members' notifications may quote was unsent, removed, edited or put
    back: they quote what it is now (never the words of a message taken down). Call it in
    the change's transaction."""
    words = GONE_WORDS.get(Message.State(message.state)) or excerpt(message)
    return notifications.notifications_data_replace(
        recipient_ids=list(member_ids), group_key=group_key(message.conversation_id),
        match={"message_id": str(message.pk)}, changes={"excerpt": words})


def group_key(conversation_id: int) -> str:
    return f"direct_message:conversation:{conversation_id}"


def notify_offline(message_id: int, user_ids: Iterable[int]) -> int:
    """Notify these members of the message (safe to run twice: one event key per message
    and member). Returns how many notifications were made or grown."""
    message = (Message.objects.select_related("conversation")
               .filter(pk=message_id, state=Message.State.VISIBLE, seq__isnull=False).first())
    if message is None or message.sender_id is None:
        return 0
    conversation: Conversation = message.conversation
    now = timezone.now()
    members = Participant.objects.filter(
        Q(muted_until__isnull=True) | Q(muted_until__lte=now),
        conversation_id=conversation.pk, user_id__in=list(user_ids),
        state=Participant.State.ACTIVE, joined_seq__lt=message.seq,
    ).exclude(user_id=message.sender_id).values_list("user_id", "accepted_at")
    data = {"excerpt": excerpt(message), "message_id": str(message.pk),
            "conversation_id": str(conversation.pk),
            "conversation_name": conversation.name,
            "group": conversation.kind == Conversation.Kind.GROUP}
    candidates = [
        Candidate(user_id, types.DIRECT_MESSAGE.name,
                  f"direct_message:{message.pk}:{user_id}", actor_id=message.sender_id,
                  target_type="conversation", target_id=conversation.pk,
                  group_key=group_key(conversation.pk),
                  data={**data, "request": accepted_at is None}, order_key="message_id")
        for user_id, accepted_at in members]
    return len(notifications.notify(candidates)) if candidates else 0
