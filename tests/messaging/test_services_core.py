"""The core use cases: one-to-one and groups, sending with seqs, idempotent retries,
requests, edit window, unsend, delete for me, reactions, read state."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError
from apps.messaging import selectors, services
from apps.messaging.models import Message, Participant
from tests.factories import UserFactory
from tests.messaging.helpers import direct, friends, send
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db


def test_direct_is_one_conversation_per_pair_and_seqs_count_up() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    assert services.start_direct(b, a).pk == conversation.pk
    first, second = send(a, conversation, "one"), send(b, conversation, "two")
    assert (first.seq, second.seq) == (1, 2)
    assert (first.change_seq, second.change_seq) == (1, 2)
    me = selectors.participant_for(b, conversation.pk)
    assert [m.body for m in selectors.messages_for(me)] == ["two", "one"]
    assert me.unread_count == 0  # b wrote after a: b's read mark moved with it
    a_row = selectors.participant_for(a, conversation.pk)
    assert a_row.unread_count == 1
    assert a_row.last_read_seq == 1


def test_a_retry_with_the_same_client_id_returns_the_first_message() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    client_id = str(uuid.uuid4())
    first, created = services.send_message(a, conversation.pk, client_id=client_id,
                                           kind="text", body="hello")
    again, created_again = services.send_message(a, conversation.pk, client_id=client_id,
                                                 kind="text", body="hello")
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert Message.objects.filter(conversation=conversation).count() == 1
    assert selectors.participant_for(b, conversation.pk).unread_count == 1


def test_non_participants_and_left_or_removed_members_get_not_found() -> None:
    admin, member, stranger = UserFactory(), UserFactory(), UserFactory()
    friends(admin, member)
    group = services.create_group(admin, [member.pk], "trip")
    send(admin, group, "before")
    for user in (stranger,):
        with pytest.raises(NotFoundError):
            selectors.participant_for(user, group.pk)
    services.remove_member(admin, group.pk, member.pk)
    with pytest.raises(NotFoundError):
        selectors.participant_for(member, group.pk)
    with pytest.raises(NotFoundError):
        send(member, group, "still here?")


def test_a_member_added_later_sees_only_what_follows() -> None:
    admin, early, late = UserFactory(), UserFactory(), UserFactory()
    friends(admin, early)
    friends(admin, late)
    group = services.create_group(admin, [early.pk], "g")
    send(early, group, "secret from before")
    services.add_members(admin, group.pk, [late.pk])
    send(admin, group, "welcome")
    me = selectors.participant_for(late, group.pk)
    seen = selectors.messages_for(me)
    assert [m.body for m in seen if m.kind == Message.Kind.TEXT] == ["welcome"]
    assert [m.data["event"] for m in seen if m.kind == Message.Kind.SYSTEM] == ["added"]


def test_requests_accept_and_the_one_more_message_limit() -> None:
    stranger, me = UserFactory(), UserFactory()
    conversation = services.start_direct(stranger, me)
    send(stranger, conversation, "hello, you don't know me")
    assert list(selectors.inbox_for(me, folder="inbox")) == []
    assert [p.conversation_id for p in selectors.inbox_for(me, folder="requests")] == [
        conversation.pk]
    send(stranger, conversation, "one more")
    with pytest.raises(ApplicationError) as refused:
        send(stranger, conversation, "and another")
    assert refused.value.code == "request_limit"
    services.accept_request(me, conversation.pk)
    assert [p.conversation_id for p in selectors.inbox_for(me)] == [conversation.pk]
    send(stranger, conversation, "thanks for accepting")


def test_deleting_a_request_clears_it_and_keeps_the_limit() -> None:
    stranger, me = UserFactory(), UserFactory()
    conversation = services.start_direct(stranger, me)
    send(stranger, conversation, "hi")
    services.delete_request(me, conversation.pk)
    assert list(selectors.inbox_for(me, folder="requests")) == []
    assert selectors.messages_for(selectors.participant_for(me, conversation.pk)) == []
    send(stranger, conversation, "please?")
    assert len(list(selectors.inbox_for(me, folder="requests"))) == 1
    with pytest.raises(ApplicationError):
        send(stranger, conversation, "pretty please?")


def test_edit_within_15_minutes_only_and_only_your_own() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    message = send(a, conversation, "helo")
    edited = services.edit_message(a, conversation.pk, message.pk, body="hello")
    assert edited.body == "hello"
    assert edited.edited_at is not None
    assert edited.change_seq is not None
    assert edited.change_seq > message.change_seq  # type: ignore[operator]
    with pytest.raises(ForbiddenError):
        services.edit_message(b, conversation.pk, message.pk, body="hacked")
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=15, seconds=1))
    with pytest.raises(ForbiddenError) as late:
        services.edit_message(a, conversation.pk, message.pk, body="too late")
    assert late.value.code == "edit_window_closed"


def test_unsend_leaves_a_tombstone_and_delete_for_me_hides_only_for_me() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    old = send(a, conversation, "regret")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    services.react(b, conversation.pk, old.pk, emoji="😂")
    gone = services.unsend_message(a, conversation.pk, old.pk)
    assert gone.state == Message.State.UNSENT
    assert gone.body == ""
    assert not gone.reactions.exists()
    with pytest.raises(ForbiddenError):
        services.unsend_message(b, conversation.pk, send(a, conversation, "x").pk)
    kept = send(b, conversation, "keep")
    services.hide_message(a, conversation.pk, kept.pk)
    a_sees = selectors.messages_for(selectors.participant_for(a, conversation.pk))
    b_sees = selectors.messages_for(selectors.participant_for(b, conversation.pk))
    assert kept.pk not in [m.pk for m in a_sees]
    assert kept.pk in [m.pk for m in b_sees]
    # the inbox's preview follows the same rule: a's shows the newest message a still sees
    a_row, b_row = (selectors.inbox_rows([selectors.participant_for(u, conversation.pk)])[0]
                    for u in (a, b))
    assert a_row["last_message"] is not None
    assert b_row["last_message"] is not None
    assert b_row["last_message"]["id"] == kept.pk
    assert a_row["last_message"]["id"] == a_sees[0].pk != kept.pk


def test_resume_after_change_seq_returns_edits_and_unsends_in_change_order() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    one, two = send(a, conversation, "one"), send(a, conversation, "two")
    services.edit_message(a, conversation.pk, one.pk, body="one!")
    services.unsend_message(a, conversation.pk, two.pk)
    me = selectors.participant_for(b, conversation.pk)
    changes = selectors.messages_for(me, after_change_seq=2)
    assert [(m.pk, m.change_seq) for m in changes] == [(one.pk, 3), (two.pk, 4)]


def test_blocked_senders_messages_are_hidden_and_mark_read_recounts() -> None:
    admin, a, b = UserFactory(), UserFactory(), UserFactory()
    friends(admin, a)
    friends(admin, b)
    group = services.create_group(admin, [a.pk, b.pk], "g")
    send(a, group, "from a")
    last = send(b, group, "from b")
    BlockFactory(blocker=a, blocked=b)
    a_row = selectors.participant_for(a, group.pk)
    assert "from b" not in [m.body for m in selectors.messages_for(a_row)]
    admin_row = selectors.participant_for(admin, group.pk)
    assert admin_row.unread_count == 2
    assert last.seq is not None
    read = services.mark_read(admin_row, last.seq - 1)
    assert read.unread_count == 1
    assert services.mark_read(read, 10_000).last_read_seq == last.seq
    assert selectors.participant_for(admin, group.pk).unread_count == 0


def test_leave_hands_admin_on_and_direct_cannot_be_left() -> None:
    admin, member = UserFactory(), UserFactory()
    friends(admin, member)
    group = services.create_group(admin, [member.pk], "")
    services.leave(admin, group.pk)
    assert Participant.objects.get(conversation=group, user=member).role == "admin"
    other = direct(UserFactory(), member)
    with pytest.raises(ApplicationError):
        services.leave(member, other.pk)


def test_a_media_message_waits_without_a_seq_then_is_delivered_or_refused() -> None:
    from tests.content.factories import MediaAssetFactory

    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    # on_commit callbacks do not run here: the checks have not answered yet
    waiting, _ = services.send_message(a, conversation.pk, client_id="m1", kind="media",
                                       asset_id=MediaAssetFactory(owner=a).pk)
    assert (waiting.state, waiting.seq) == (Message.State.PENDING, None)
    a_row, b_row = (selectors.participant_for(u, conversation.pk) for u in (a, b))
    assert [m.pk for m in selectors.messages_for(a_row)] == [waiting.pk]
    assert selectors.messages_for(b_row) == []
    assert b_row.unread_count == 0
    text = send(a, conversation, "look at this")  # takes seq 1 meanwhile
    delivered = services.deliver_pending(waiting.pk)
    assert delivered is not None
    assert (delivered.state, delivered.seq, delivered.change_seq) == (
        Message.State.VISIBLE, 2, 2)
    assert text.seq == 1
    assert [m.pk for m in selectors.messages_for(b_row)] == [waiting.pk, text.pk]
    assert selectors.participant_for(b, conversation.pk).unread_count == 2
    assert services.deliver_pending(waiting.pk) == delivered  # once only

    refused, _ = services.send_message(a, conversation.pk, client_id="m2", kind="media",
                                       asset_id=MediaAssetFactory(owner=a).pk)
    services.reject_pending(refused.pk, "This video breaks the rules on violence.")
    assert selectors.messages_for(b_row, after_change_seq=2) == []
    [own] = [m for m in selectors.messages_for(a_row) if m.pk == refused.pk]
    assert own.state == Message.State.REJECTED
    assert own.refusal == "This video breaks the rules on violence."
    again = services.deliver_pending(refused.pk)
    assert again is not None
    assert again.state == Message.State.REJECTED
