"""The subscribe read every reconnect takes (`socket_work.open_conversation`): the
membership, the other members, those blocked either way, the reader's deleted-for-me
messages and the latest seq, in one statement when there is nothing to replay (a reconnect
storm of 5,000 sockets pays it once per socket), and the same answers as reading each."""

from __future__ import annotations

from typing import Any, cast

import pytest

from apps.core.errors import NotFoundError
from apps.messaging import services, socket_work
from apps.messaging.models import Conversation, HiddenMessage, Participant
from tests.factories import UserFactory
from tests.messaging.helpers import direct, friends, send
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db

# the sync body, on this test's connection (the pool's threads have their own)
open_conversation = cast(Any, socket_work.open_conversation).func


def test_a_group_member_up_to_date_is_read_in_one_statement(
    django_assert_num_queries: object,
) -> None:
    a, b, c, d = (UserFactory() for _ in range(4))
    for i, x in enumerate((a, b, c, d)):
        for y in (a, b, c, d)[i + 1 :]:
            friends(x, y)
    group = services.create_group(a, [b.pk, c.pk, d.pk], "crew")
    first = send(b, group, "one")
    send(c, group, "two")
    services.hide_message(a, group.pk, first.pk)
    BlockFactory(blocker=c, blocked=a)  # the other way round counts too
    last_seq = Conversation.objects.get(pk=group.pk).last_seq

    with django_assert_num_queries(1):  # type: ignore[operator]
        me, hidden, other, seq, deleted, replay = open_conversation(a, group.pk, last_seq)

    assert me.user_id == a.pk
    assert me.conversation_id == group.pk
    assert hidden == {c.pk}
    assert other is None
    assert seq == last_seq == me.conversation.last_seq
    assert (
        deleted
        == {str(first.pk)}
        == {
            str(pk)
            for pk in HiddenMessage.objects.filter(user_id=a.pk).values_list(
                "message_id", flat=True
            )
        }
    )
    assert replay is None
    assert sorted(me.other_ids) == sorted(
        Participant.objects.filter(conversation_id=group.pk)
        .exclude(user_id=a.pk)
        .values_list("user_id", flat=True)
    )


def test_a_one_to_one_names_the_other_person_and_replays_when_behind() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    message = send(b, conversation, "hello")

    _me, hidden, other, seq, deleted, replay = open_conversation(a, conversation.pk, 0)

    assert (other, hidden, deleted) == (b.pk, set(), set())
    assert replay is not None
    rows, more = replay
    assert [p["id"] for _, p in rows][-1] == str(message.pk)
    assert more is False
    assert seq == rows[-1][0]


def test_a_stranger_and_a_member_who_left_get_not_found() -> None:
    a, b, c, stranger = (UserFactory() for _ in range(4))
    for x, y in ((a, b), (a, c), (b, c)):
        friends(x, y)
    group = services.create_group(a, [b.pk, c.pk], "crew")
    services.leave(c, group.pk)
    for user in (stranger, c):
        with pytest.raises(NotFoundError):
            open_conversation(user, group.pk, None)


def test_the_statement_compiled_once_answers_as_the_orms_for_every_reader() -> None:
    """`_membership` runs the ORM's statement compiled once per process with the reader's
    and the conversation's ids in place of the placeholders: the same row, members,
    blocks and deleted-for-me ids as the queryset evaluated by the ORM for that reader."""
    a, b, c, d = (UserFactory() for _ in range(4))
    for i, x in enumerate((a, b, c, d)):
        for y in (a, b, c, d)[i + 1 :]:
            friends(x, y)
    group = services.create_group(a, [b.pk, c.pk, d.pk], "crew")
    first = send(b, group, "one")
    send(c, group, "two")
    services.hide_message(a, group.pk, first.pk)
    services.hide_message(d, group.pk, first.pk)
    BlockFactory(blocker=c, blocked=a)
    BlockFactory(blocker=b, blocked=d)
    pair = services.start_direct(a, b)  # friends already
    for reader, conversation_id in ((a, group.pk), (b, group.pk), (c, group.pk),
                                    (d, group.pk), (a, pair.pk), (b, pair.pk)):
        me = socket_work._membership(reader, conversation_id)
        [expected] = socket_work._membership_query(reader.pk, conversation_id)
        got = (*(getattr(me, f) for f in socket_work._P_FIELDS),
               *(getattr(me.conversation, f) for f in socket_work._C_FIELDS),
               me.other_ids, me.blocked_ids, me.deleted_ids)
        assert got == expected
        assert me.pk == Participant.objects.get(user=reader, conversation_id=conversation_id).pk
    assert socket_work._membership(a, group.pk).blocked_ids == [c.pk]
    assert sorted(socket_work._membership(b, group.pk).blocked_ids) == [d.pk]
    assert socket_work._membership(d, group.pk).deleted_ids == [first.pk]
    services.leave(c, group.pk)
    with pytest.raises(NotFoundError):
        socket_work._membership(c, group.pk)
    with pytest.raises(NotFoundError):
        socket_work._membership(UserFactory(), group.pk)
