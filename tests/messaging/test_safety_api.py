"""Refusals reach API clients in the error shape, with the words the user reads: 403 for a
rule, 429 for the repeated-text throttle."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from apps.messaging import policy
from apps.messaging.models import Message
from apps.social.services import block_create
from tests.messaging.helpers import client_for, direct
from tests.messaging.safety import person

pytestmark = pytest.mark.django_db(transaction=True)


def _send(user: Any, conversation_id: int, body: str) -> Any:
    return client_for(user).post(f"/api/v1/conversations/{conversation_id}/messages",
                                 {"client_id": str(uuid.uuid4()), "kind": "text",
                                  "body": body}, format="json")


def test_a_refused_send_is_a_403_in_the_error_shape_with_words() -> None:
    a, b = person(), person()
    conversation = direct(a, b)
    block_create(blocker=b, blocked=a)
    response = _send(a, conversation.pk, "hello?")
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert error["message"] == "You can't message this account."
    assert not Message.objects.filter(conversation=conversation).exists()


def test_the_repeat_throttle_is_a_429_in_the_error_shape() -> None:
    sender = person()
    text = "Follow my page for free giveaways every single day"
    conversations = [direct(sender, person())
                     for _ in range(policy.REPEAT_CONVERSATION_LIMIT + 1)]
    for conversation in conversations[:-1]:
        assert _send(sender, conversation.pk, text).status_code == 201
    response = _send(sender, conversations[-1].pk, text)
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "repeated_message"
    assert "same message to many people" in response.json()["error"]["message"]
