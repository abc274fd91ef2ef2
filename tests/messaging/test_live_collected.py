"""The socket's send path (`socket_work.send`): a send's announcements are collected
on the database side and sent from the event loop (`live.collected_sends`,
`live.send_collected`), the sender's payload is the announced one when it is the same, and
`live.inbox_changed`'s shortcut after a send gives the same rows as a full read."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.test import TestCase

from apps.accounts.models import User
from apps.core import redis_health
from apps.messaging import live, services, socket_work
from apps.messaging.api.serializers import message_payloads
from apps.messaging.models import Conversation, Message
from apps.social.selectors import blocked_user_ids
from tests.conftest import open_redis_breaker
from tests.factories import UserFactory
from tests.messaging.helpers import friends, send
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db


def _group(n: int) -> tuple[list[User], Conversation]:
    people: list[User] = [UserFactory() for _ in range(n)]
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            friends(a, b)
    return people, services.create_group(people[0], [p.pk for p in people[1:]], "crew")


def _collected_send(
    sender: User, conversation: Conversation, body: str, **kwargs: Any
) -> tuple[Message, list[live.Announcement]]:
    with live.collected_sends() as announcements, TestCase.captureOnCommitCallbacks(execute=True):
        message, _ = services.send_message(
            sender,
            conversation.pk,
            body=body,
            kind=Message.Kind.TEXT,
            client_id=str(uuid.uuid4()),
            **kwargs,
        )
    return message, list(announcements)


def test_a_sends_announcements_are_collected_then_sent_from_the_event_loop() -> None:
    (a, b, c), conversation = _group(3)
    layer = get_channel_layer()
    group = live.conversation_group(conversation.pk)

    async def join() -> str:
        channel: str = await layer.new_channel()
        await layer.group_add(group, channel)
        return channel

    channel = asyncio.run(join())
    message, announcements = _collected_send(a, conversation, "collected, not sent")

    async def deliver() -> dict[str, Any]:
        # nothing reached the group while the send ran: it waits for the caller
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)
        await live.send_collected(announcements)
        event: dict[str, Any] = await asyncio.wait_for(layer.receive(channel), 5)
        await layer.group_discard(group, channel)
        return event

    event = asyncio.run(deliver())
    assert event["type"] == "msg.message"
    assert event["message"]["id"] == str(message.pk)
    groups = [group for group, _ in announcements]
    # the message to the conversation's group, an inbox row to each member's own group
    assert groups.count(live.conversation_group(conversation.pk)) == 1
    assert sorted(g for g in groups if g.startswith("messaging.user.")) == sorted(
        live.user_group(p.pk) for p in (a, b, c)
    )


def test_the_senders_payload_is_the_announced_one_only_when_it_is_the_same() -> None:
    (a, b, _), conversation = _group(3)
    message, announcements = _collected_send(a, conversation, "plain text @" + b.username)
    announced = socket_work.announced_payload(message, announcements)
    assert announced is not None
    assert announced == dict(message_payloads(a, [message])[0])
    # a reply's quote depends on the reader's blocks: rendered for the sender instead
    reply, announcements = _collected_send(b, conversation, "a reply", reply_to_id=message.pk)
    assert socket_work.announced_payload(reply, announcements) is None


def test_the_inbox_rows_after_a_send_are_those_of_a_full_read() -> None:
    (a, b, c, d), conversation = _group(4)
    BlockFactory(blocker=c, blocked=a)  # c sees none of a's messages, nor their preview
    message = send(a, conversation, "the latest")
    ids = [a.pk, b.pk, c.pk, d.pk]

    def rows(**shortcut: Any) -> dict[str, dict[str, Any]]:
        with live.collected_sends() as announcements:
            live.inbox_changed(ids, conversation.pk, **shortcut)
        return dict(announcements)

    full = rows()
    fast = rows(new_message_id=message.pk, sender_blocked=blocked_user_ids(a.pk))
    assert fast == full
    assert full[live.user_group(c.pk)]["last_message"] is None
    assert full[live.user_group(b.pk)]["last_message"]["id"] == str(message.pk)
    # the shortcut is only taken for the latest message: an older one reads it all again
    older = send(b, conversation, "newer")
    assert rows(new_message_id=message.pk, sender_blocked=set()) == rows()
    assert rows()[live.user_group(c.pk)]["last_message"]["id"] == str(older.pk)


def test_an_announcement_the_breaker_stopped_is_sent_again_once_it_closes() -> None:
    """The Redis breaker open for a moment (at 5,000 sockets: deadlines missed by a busy
    worker) must not cost a message its live delivery: the send is tried again in the
    background and reaches the group once the breaker lets it through."""
    (a, _, _), conversation = _group(3)
    layer = get_channel_layer()
    group = live.conversation_group(conversation.pk)
    message, announcements = _collected_send(a, conversation, "sent again")

    async def deliver() -> dict[str, Any]:
        channel: str = await layer.new_channel()
        await layer.group_add(group, channel)
        open_redis_breaker()
        await live.send_collected(announcements)  # returns at once: the retry is queued
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.2)
        redis_health.reset_all()  # Redis answers again
        event: dict[str, Any] = await asyncio.wait_for(layer.receive(channel), 10)
        await layer.group_discard(group, channel)
        return event

    try:
        event = asyncio.run(deliver())
    finally:
        redis_health.reset_all()
    assert event["type"] == "msg.message"
    assert event["message"]["id"] == str(message.pk)
