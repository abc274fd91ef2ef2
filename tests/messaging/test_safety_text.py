"""Text goes through moderation's text checks (classifier, staff term lists, link-spam
signals); the same text to many conversations is throttled as spam (Redis, behind the
breaker)."""

from __future__ import annotations

import pytest

from apps.messaging import policy, services
from apps.messaging.models import Message
from apps.moderation.detection.models import PolicyRule, TermList
from apps.moderation.detection.services import policy_rules_seed
from apps.moderation.policies import Policy
from tests.conftest import open_redis_breaker
from tests.messaging.helpers import direct, send
from tests.messaging.safety import person, refused

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _rules() -> None:
    policy_rules_seed()  # the rows a migration seeds (a transactional test flushes them)


def test_a_term_staff_block_is_refused_in_any_conversation_and_in_an_edit() -> None:
    TermList.objects.create(name="slurs", policy=Policy.HATE_HARASSMENT, terms="scumbag",
                            outcome="block")
    a, b = person(), person()
    conversation = direct(a, b)
    error = refused(lambda: send(a, conversation, "you absolute scumbag"),
                    "message_refused")
    assert "abusive" in error.message
    refused(lambda: send(a, conversation, "you absolute s.c.u.m.b.a.g"), "message_refused")
    fine = send(a, conversation, "you absolute legend")
    refused(lambda: services.edit_message(a, conversation.pk, fine.pk,
                                          body="you absolute scumbag"), "message_refused")
    fine.refresh_from_db()
    assert fine.body == "you absolute legend"
    assert not Message.objects.filter(body__contains="scumbag").exists()


def test_abuse_to_a_stranger_is_refused_but_friends_may_swear() -> None:
    stranger, recipient = person(), person()
    request = services.start_direct(stranger, recipient)
    refused(lambda: send(stranger, request, "you are ugly and stupid"), "message_refused")
    a, b = person(), person()
    assert send(a, direct(a, b), "shit I missed the bus").seq == 1


def test_a_staff_block_threshold_for_abuse_applies_between_friends_too() -> None:
    # the classifier is skipped between friends only while its rule cannot refuse there
    PolicyRule.objects.filter(policy=Policy.HATE_HARASSMENT).update(block_at=0.99)
    a, b = person(), person()
    conversation = direct(a, b)
    refused(lambda: send(a, conversation, "you are ugly and stupid"), "message_refused")
    assert send(a, conversation, "see you at the station at nine").seq == 1


def test_link_spam_is_refused_stricter_in_requests() -> None:
    a, b = person(), person()
    conversation = direct(a, b)
    # two links: fine between friends, spam in a stranger's Requests
    two_links = "look at example.com and also test.com"
    assert send(a, conversation, two_links).seq == 1
    error = refused(lambda: send(a, conversation,
                                 "win now https://bit.ly/a1 https://bit.ly/b2"),
                    "message_refused")
    assert "spam" in error.message
    stranger, recipient = person(), person()
    request = services.start_direct(stranger, recipient)
    refused(lambda: send(stranger, request, two_links), "message_refused")
    assert send(stranger, request, "hello, loved your last video").seq == 1


def test_the_same_text_to_many_conversations_is_throttled() -> None:
    sender = person()
    text = "Hey! Check out my new channel, it has great videos"
    conversations = [direct(sender, person()) for _ in range(policy.REPEAT_CONVERSATION_LIMIT + 1)]
    for conversation in conversations[:-1]:
        send(sender, conversation, text)
    # the same words, other case and punctuation: still the same text
    error = refused(lambda: send(sender, conversations[-1], text.upper() + "!!"),
                    "repeated_message")
    assert error.status_code == 429
    # something personal goes; and the same text again in a conversation it already went to
    assert send(sender, conversations[-1], "Hi Sam, long time no see!").seq == 1
    assert send(sender, conversations[0], text).seq == 2
    # short replies are never counted
    for conversation in conversations:
        send(sender, conversation, "ok thanks")


def test_the_repeat_count_is_skipped_while_redis_is_unavailable() -> None:
    sender = person()
    text = "Hey! Check out my new channel, it has great videos"
    conversations = [direct(sender, person()) for _ in range(policy.REPEAT_CONVERSATION_LIMIT + 1)]
    open_redis_breaker()
    for conversation in conversations:  # sent (not hanging, not refused): fail open
        assert send(sender, conversation, text).seq == 1
