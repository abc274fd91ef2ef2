"""Blocks end messaging both ways, and hide the blocked person's messages (old ones too)."""

from __future__ import annotations

import pytest

from apps.core.errors import ApplicationError
from apps.messaging import policy, selectors, services
from apps.messaging.models import Message
from apps.social.services import block_create
from tests.messaging.helpers import direct, friends, send
from tests.messaging.safety import person, refused

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("blocker_is_sender", [True, False])
def test_a_block_either_way_ends_a_one_to_one(blocker_is_sender: bool) -> None:
    sender, other = person(), person()
    conversation = direct(sender, other)
    send(sender, conversation, "before")
    if blocker_is_sender:
        block_create(blocker=sender, blocked=other)
        error = refused(lambda: send(sender, conversation, "after"), "blocked")
        assert "Unblock" in error.message
    else:
        block_create(blocker=other, blocked=sender)
        error = refused(lambda: send(sender, conversation, "after"), "unavailable")
        assert "block" not in error.message.lower()  # never told they were blocked
    assert not Message.objects.filter(body="after").exists()


def test_nobody_starts_a_conversation_across_a_block_either_way() -> None:
    a, b = person(), person()
    friends(a, b)
    block_create(blocker=a, blocked=b)
    refused(lambda: services.start_direct(a, b), "blocked")
    refused(lambda: services.start_direct(b, a), "unavailable")
    c = person()
    friends(a, c)
    refused(lambda: services.create_group(b, [a.pk, c.pk]), "unavailable")
    refused(lambda: services.create_group(a, [b.pk, c.pk]), "blocked")


def test_a_blocked_persons_messages_are_hidden_both_ways_old_ones_included() -> None:
    a, b = person(), person()
    conversation = direct(a, b)
    from_a, from_b = send(a, conversation, "from a"), send(b, conversation, "from b")
    block_create(blocker=a, blocked=b)
    a_sees = selectors.messages_for(selectors.participant_for(a, conversation.pk))
    b_sees = selectors.messages_for(selectors.participant_for(b, conversation.pk))
    assert [m.pk for m in a_sees] == [from_a.pk]
    assert [m.pk for m in b_sees] == [from_b.pk]
    assert Message.objects.filter(conversation=conversation).exclude(
        policy.blocked_sender_q(a.pk)).count() == 1


def test_in_a_group_a_block_hides_messages_only_between_the_two() -> None:
    admin, a, b = person(), person(), person()
    friends(admin, a)
    friends(admin, b)
    group = services.create_group(admin, [a.pk, b.pk], "club")
    block_create(blocker=a, blocked=b)
    message = send(b, group, "hello all")  # b still writes to the group
    admin_sees = selectors.messages_for(selectors.participant_for(admin, group.pk))
    a_sees = selectors.messages_for(selectors.participant_for(a, group.pk))
    assert message.pk in [m.pk for m in admin_sees]
    assert message.pk not in [m.pk for m in a_sees]
    assert [m.kind for m in a_sees if m.sender_id == b.pk] == []


@pytest.mark.parametrize("blocker_reacts", [True, False])
def test_no_reaction_crosses_a_block(blocker_reacts: bool) -> None:
    """A block hides the other's messages, old ones too, so a reaction to one finds nothing:
    the same answer as a message that never existed (never told they were blocked)."""
    a, b = person(), person()
    conversation = direct(a, b)
    message = send(b, conversation, "react to me")
    if blocker_reacts:
        block_create(blocker=a, blocked=b)
    else:
        block_create(blocker=b, blocked=a)
    with pytest.raises(ApplicationError) as caught:
        services.react(a, conversation.pk, message.pk, emoji="👍")
    assert caught.value.code == "not_found"
    assert not message.reactions.exists()
