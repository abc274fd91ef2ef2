"""Marking a conversation read never waits for the conversation's row lock: a sender holds
it while it updates the members' rows, so a read that locked both (a joined FOR UPDATE)
deadlocked against a send (clean clone, two workers: PostgreSQL's deadlock detector killed
the send)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from apps.messaging import services
from apps.messaging.models import Conversation, Participant
from tests.factories import UserFactory
from tests.messaging.helpers import direct, send


@pytest.mark.django_db(transaction=True)
def test_a_read_goes_ahead_while_a_sender_holds_the_conversation() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    message = send(a, conversation, "hello?")
    assert message.seq is not None
    reader = Participant.objects.get(conversation=conversation, user=b)
    holding, release = threading.Event(), threading.Event()

    def sender_holds_the_conversation() -> None:
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update().get(pk=conversation.pk)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    other = threading.Thread(target=sender_holds_the_conversation)
    other.start()
    assert holding.wait(30)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:  # waiting at all is the failure
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            me = services.mark_read(reader, message.seq)
        assert me.last_read_seq == message.seq
        assert me.unread_count == 0
    finally:
        release.set()
        other.join(30)
