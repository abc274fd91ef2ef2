"""A socket send hands its announcements to the consumer's event loop as they are made
(`socket_work.send` with the loop, `live.collected_sends(loop)`): the new message reaches
the conversation's group once its transaction commits, while the send's after-commit work
(the members' inbox rows, the offline check, the sender's own view) still runs on the
database thread. What the checks refuse is never announced; the payload and the rows are
the same as before."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from channels.layers import get_channel_layer

from apps.messaging import live, socket_work
from apps.messaging.models import Message
from apps.messaging.policy import MessagingRefused
from apps.moderation.detection.models import TermList
from apps.moderation.detection.services import policy_rules_seed
from apps.moderation.policies import Policy
from tests.messaging.helpers import direct
from tests.messaging.safety import person

pytestmark = pytest.mark.django_db(transaction=True)


def _frame(conversation_id: int, body: str) -> dict[str, Any]:
    return {"conversation": str(conversation_id), "client_id": str(uuid.uuid4()),
            "kind": "text", "body": body}


def test_the_new_message_is_announced_before_the_sends_after_commit_work_ends(
        monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = person(), person()
    conversation = direct(a, b)
    layer = get_channel_layer()
    group = live.conversation_group(conversation.pk)
    # given the send's inbox rows held on the database thread until the test lets go
    release = threading.Event()
    inbox_changed = live.inbox_changed

    def held_inbox_changed(*args: Any, **kwargs: Any) -> None:
        release.wait(10)
        inbox_changed(*args, **kwargs)

    monkeypatch.setattr(live, "inbox_changed", held_inbox_changed)

    async def scenario() -> tuple[dict[str, Any], socket_work.Sent, dict[str, Any]]:
        channel: str = await layer.new_channel()
        await layer.group_add(group, channel)
        b_channel: str = await layer.new_channel()
        await layer.group_add(live.user_group(b.pk), b_channel)
        sending = asyncio.ensure_future(socket_work.send(
            a, _frame(conversation.pk, "there at the commit"), asyncio.get_running_loop()))
        # when the conversation's group has the message, the send has not returned
        event: dict[str, Any] = await asyncio.wait_for(layer.receive(channel), 10)
        still_running = not sending.done()
        release.set()
        sent = await sending
        assert still_running
        inbox: dict[str, Any] = await asyncio.wait_for(layer.receive(b_channel), 10)
        await layer.group_discard(group, channel)
        await layer.group_discard(live.user_group(b.pk), b_channel)
        return event, sent, inbox

    try:
        event, sent, inbox = asyncio.run(scenario())
    finally:
        release.set()
    message = Message.objects.get(conversation=conversation)
    assert event["type"] == "msg.message"
    assert event["message"]["id"] == str(message.pk)
    assert event["change_seq"] == message.change_seq == 1
    # then the inbox row, sent too; nothing is left for the consumer to send again
    assert inbox["type"] == "msg.inbox"
    assert inbox["unread_count"] == 1
    assert inbox["last_message"]["id"] == str(message.pk)
    assert sent.announcements == []
    assert sent.created
    assert sent.payload == event["message"]


def test_a_refused_text_is_never_announced() -> None:
    policy_rules_seed()  # the rows a migration seeds (a transactional test flushes them)
    TermList.objects.create(name="slurs", policy=Policy.HATE_HARASSMENT, terms="scumbag",
                            outcome="block")
    a, b = person(), person()
    conversation = direct(a, b)
    layer = get_channel_layer()
    group = live.conversation_group(conversation.pk)

    async def scenario() -> None:
        channel: str = await layer.new_channel()
        await layer.group_add(group, channel)
        with pytest.raises(MessagingRefused):
            await socket_work.send(a, _frame(conversation.pk, "you absolute scumbag"),
                                   asyncio.get_running_loop())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.5)
        await layer.group_discard(group, channel)

    asyncio.run(scenario())
    assert not Message.objects.filter(conversation=conversation).exists()
