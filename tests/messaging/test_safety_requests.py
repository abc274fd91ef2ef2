"""Message requests and the recipient's "who can message me" setting: a stranger's message
waits in Requests; until it is answered the sender may send one more, no more (even when
two sends race); the setting decides who may write at all."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from apps.messaging import policy, services
from apps.messaging.models import Message, MessagingSettings, Participant
from apps.messaging.policy import MessagingRefused
from tests.messaging.helpers import friends, send
from tests.messaging.safety import person, refused
from tests.social.factories import FollowFactory

pytestmark = pytest.mark.django_db(transaction=True)

Who = MessagingSettings.WhoCanMessage


def _in_requests_of(user_id: int, conversation_id: int) -> bool:
    row = Participant.objects.get(user_id=user_id, conversation_id=conversation_id)
    return row.accepted_at is None


def test_a_message_from_someone_the_recipient_does_not_follow_lands_in_requests() -> None:
    stranger, followed, recipient = person(), person(), person()
    FollowFactory(follower=recipient, followee=followed)
    assert policy.lands_in_requests(stranger, recipient)
    assert not policy.lands_in_requests(followed, recipient)
    assert _in_requests_of(recipient.pk, services.start_direct(stranger, recipient).pk)
    assert not _in_requests_of(recipient.pk, services.start_direct(followed, recipient).pk)


def test_an_unanswered_request_allows_one_more_message_then_none_until_accepted() -> None:
    stranger, recipient = person(), person()
    conversation = services.start_direct(stranger, recipient)
    send(stranger, conversation, "hi, we met at the gig")
    send(stranger, conversation, "it was the blue jacket")
    error = refused(lambda: send(stranger, conversation, "hello??"), "request_limit")
    assert "accept" in error.message
    assert Message.objects.filter(conversation=conversation).count() == 2
    services.accept_request(recipient, conversation.pk)
    assert send(stranger, conversation, "thanks for accepting").seq == 3


def test_a_reply_answers_the_request_too() -> None:
    stranger, recipient = person(), person()
    conversation = services.start_direct(stranger, recipient)
    send(stranger, conversation, "one")
    send(stranger, conversation, "two")
    send(recipient, conversation, "hello")
    assert send(stranger, conversation, "three").seq == 4


def test_two_racing_sends_after_the_first_still_make_at_most_two_messages() -> None:
    stranger, recipient = person(), person()
    conversation = services.start_direct(stranger, recipient)
    send(stranger, conversation, "first")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(body: str) -> None:
        try:
            barrier.wait()
            services.send_message(stranger, conversation.pk, client_id=str(uuid.uuid4()),
                                  kind=Message.Kind.TEXT, body=body)
            outcomes.append("sent")
        except MessagingRefused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(f"racing {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["request_limit", "sent"]
    assert Message.objects.filter(conversation=conversation, sender=stranger).count() == 2


@pytest.mark.parametrize(("setting", "follows", "followed_back", "allowed"), [
    (Who.EVERYONE, False, False, True),
    (Who.FOLLOWING, False, False, False),
    (Who.FOLLOWING, True, False, True),
    (Who.FRIENDS, True, False, False),
    (Who.FRIENDS, True, True, True),
    (Who.NO_ONE, True, True, False),
])
def test_who_can_message_me(setting: str, follows: bool, followed_back: bool,
                            allowed: bool) -> None:
    sender, recipient = person(), person()
    services.update_settings(recipient, who_can_message=setting)
    if follows:  # the recipient follows the sender
        FollowFactory(follower=recipient, followee=sender)
    if followed_back:
        FollowFactory(follower=sender, followee=recipient)
    if allowed:
        assert send(sender, services.start_direct(sender, recipient), "hello").seq == 1
    else:
        codes: dict[str, str] = {Who.FOLLOWING: "following_only", Who.FRIENDS: "friends_only",
                                 Who.NO_ONE: "not_accepting_messages"}
        code = codes[setting]
        refused(lambda: services.start_direct(sender, recipient), code)


def test_the_setting_applies_to_a_pending_request_but_not_an_accepted_conversation() -> None:
    stranger, recipient, friend = person(), person(), person()
    pending = services.start_direct(stranger, recipient)
    send(stranger, pending, "hello")
    friends(friend, recipient)
    accepted = services.start_direct(friend, recipient)
    send(friend, accepted, "hey")
    services.update_settings(recipient, who_can_message=Who.NO_ONE)
    refused(lambda: send(stranger, pending, "are you there"), "not_accepting_messages")
    assert send(friend, accepted, "still talking").seq == 2
