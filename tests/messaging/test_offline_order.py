"""The offline notification of a conversation shows its latest message whatever order the
worker's processes handle the messages in (two workers: "2 messages" showed the first one's
excerpt, the second's task having finished first)."""

from __future__ import annotations

import pytest

from apps.messaging import offline
from apps.notifications import types
from apps.notifications.models import Notification
from apps.notifications.services import texts
from tests.factories import UserFactory
from tests.messaging.helpers import direct, send


@pytest.mark.django_db(transaction=True)
def test_the_latest_message_is_shown_when_the_earlier_ones_task_finishes_last() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    first, second = send(a, conversation, "are you there?"), send(a, conversation, "hello?")
    assert offline.notify_offline(second.pk, [b.pk]) == 1
    assert offline.notify_offline(first.pk, [b.pk]) == 1  # late: counted, not shown
    row = Notification.objects.get(recipient=b, type=types.DIRECT_MESSAGE.name)
    assert row.actor_count == 2
    assert texts.describe(row) == (f"{a.username} sent you 2 messages", "hello?",
                                   f"/messages/{conversation.pk}")
    assert row.data["message_id"] == str(second.pk)
    # in order, the newer one still replaces it
    third = send(a, conversation, "ok, later then")
    offline.notify_offline(third.pk, [b.pk])
    row.refresh_from_db()
    assert texts.describe(row)[1] == "ok, later then"
