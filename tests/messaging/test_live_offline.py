"""The offline member's notification (issue 15, "Delivery"), as the task makes it: read
again when it runs (a member who muted, left or blocked since is not told; an unsent message
tells nobody), one notification per conversation in words, a request says so."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from apps.accounts.models import User
from apps.messaging import offline, services
from apps.notifications import types
from apps.notifications.models import Notification
from apps.notifications.services import texts
from apps.social import services as social_services
from tests.factories import UserFactory
from tests.messaging.helpers import direct, friends, send

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(user: User) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, type=types.DIRECT_MESSAGE.name))


def test_a_group_message_is_one_notification_per_conversation_in_words() -> None:
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    for x, y in ((a, b), (a, c), (b, c)):
        friends(x, y)
    group = services.create_group(a, [b.pk, c.pk], "weekend plans")
    first = send(a, group, "who's in?")
    assert offline.notify_offline(first.pk, [b.pk, c.pk]) == 2
    assert offline.notify_offline(first.pk, [b.pk, c.pk]) == 0  # the task ran twice: once
    second = send(b, group, "me")
    offline.notify_offline(second.pk, [c.pk])
    [row] = _rows(c)
    assert row.actor_count == 2
    assert texts.describe(row) == ("2 new messages in weekend plans", "me",
                                   f"/messages/{group.pk}")
    [row] = _rows(b)
    assert texts.describe(row)[:2] == (f"{a.username} in weekend plans", "who's in?")


def test_read_again_when_the_task_runs() -> None:
    a, b, c, d = (UserFactory() for _ in range(4))
    for x in (b, c, d):
        friends(a, x)
    group = services.create_group(a, [b.pk, c.pk, d.pk], "")
    message = send(a, group, "hello")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.set_muted(b, group.pk, until=timezone.now() + timedelta(hours=1))
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.leave(c, group.pk)
    social_services.block_create(blocker=d, blocked=a)
    assert offline.notify_offline(message.pk, [b.pk, c.pk, d.pk]) == 0
    unsent = send(a, group, "oops")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.unsend_message(a, group.pk, unsent.pk)
    assert offline.notify_offline(unsent.pk, [b.pk]) == 0
    assert _rows(b) == _rows(c) == _rows(d) == []


def test_a_request_says_so_and_a_media_message_in_words() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b, as_friends=False)  # b does not follow a: in b's Requests
    message = send(a, conversation, "hi, loved your video")
    offline.notify_offline(message.pk, [b.pk])
    [row] = _rows(b)
    assert texts.describe(row)[:2] == (f"{a.username} wants to send you a message",
                                       "hi, loved your video")
    assert offline.excerpt(type(message)(kind="media", client_id=str(uuid.uuid4()))) == (
        "Sent a photo or video")


def test_a_notification_never_keeps_the_words_of_a_message_taken_back() -> None:
    """Told while offline, then the message is edited, unsent or removed by moderation:
    the notification quotes what the message is now."""
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)

    def told(body: str) -> tuple[str, str]:
        message = send(a, conversation, body)
        offline.notify_offline(message.pk, [b.pk])
        [row] = _rows(b)
        assert row.data["excerpt"] == body
        return str(message.pk), body

    message_id, _ = told("meet at 5")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.edit_message(a, conversation.pk, message_id, body="meet at 6")
    assert _rows(b)[0].data["excerpt"] == "meet at 6"

    message_id, _ = told("my address is 12 Elm St")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.unsend_message(a, conversation.pk, message_id)
    [row] = _rows(b)
    assert row.data["excerpt"] == "Message unsent"
    assert "Elm" not in str(texts.describe(row))

    message_id, body = told("something hateful")
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.remove_by_moderation(message_id=int(message_id))
    assert _rows(b)[0].data["excerpt"] == "Message removed"
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.restore_by_moderation(message_id=int(message_id))
    assert _rows(b)[0].data["excerpt"] == body  # an appeal granted puts the words back
