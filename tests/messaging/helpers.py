"""Helpers of the messaging tests: people who may write to each other, conversations and
messages made through the services, a signed-in API client."""

from __future__ import annotations

import uuid
from typing import Any

from django.test import TestCase
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.messaging import services
from apps.messaging.models import Conversation, Message
from tests.social.factories import FollowFactory


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def friends(a: User, b: User) -> None:
    """Each follows the other: nothing lands in Requests."""
    FollowFactory(follower=a, followee=b)
    FollowFactory(follower=b, followee=a)


def direct(a: User, b: User, *, as_friends: bool = True) -> Conversation:
    if as_friends:
        friends(a, b)
    return services.start_direct(a, b)


def send(sender: User, conversation: Conversation | int, body: str = "hi", **kwargs: Any
         ) -> Message:
    cid = conversation.pk if isinstance(conversation, Conversation) else conversation
    kwargs.setdefault("kind", Message.Kind.TEXT)
    kwargs.setdefault("client_id", str(uuid.uuid4()))
    with TestCase.captureOnCommitCallbacks(execute=True):
        message, _ = services.send_message(sender, cid, body=body, **kwargs)
    return message
