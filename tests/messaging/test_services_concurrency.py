"""Seqs and client-id retries under concurrency: the conversation's row lock
(`services._common.lock_conversation`) with committed transactions on real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from django.db import connection

from apps.core.errors import ApplicationError
from apps.messaging import services
from apps.messaging.models import Message, Participant
from tests.factories import UserFactory
from tests.messaging.helpers import friends


def _run_together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_get_distinct_gapless_seqs_and_exact_unread_counts() -> None:
    admin, b, c = UserFactory(), UserFactory(), UserFactory()
    friends(admin, b)
    friends(admin, c)
    group = services.create_group(admin, [b.pk, c.pk], "busy")  # seq 1: "created"
    per_sender = 8

    def burst(user_id: int) -> Callable[[], None]:
        def job() -> None:
            sender = type(admin).objects.get(pk=user_id)
            for i in range(per_sender):
                services.send_message(sender, group.pk, client_id=str(uuid.uuid4()),
                                      kind="text", body=f"{user_id} {i}")
        return job

    assert _run_together([burst(u.pk) for u in (admin, b, c)]) == []
    rows = [(int(seq or 0), change, sender, body) for seq, change, sender, body in
            Message.objects.filter(conversation=group).exclude(kind="system")
            .values_list("seq", "change_seq", "sender_id", "body")]
    assert sorted(seq for seq, _, _, _ in rows) == list(range(2, 2 + 3 * per_sender))
    assert all(seq == change for seq, change, _, _ in rows)
    # each sender's messages got increasing seqs in the order they were sent
    for user in (admin, b, c):
        mine = sorted((seq, body) for seq, _, sender, body in rows if sender == user.pk)
        assert [body for _, body in mine] == [f"{user.pk} {i}" for i in range(per_sender)]
    group.refresh_from_db()
    assert group.last_seq == 1 + 3 * per_sender
    for row in Participant.objects.filter(conversation=group):
        # everything after their own last message is unread; what came before, they read
        last_own = max(seq for seq, _, sender, _ in rows if sender == row.user_id)
        assert row.last_read_seq == last_own
        assert row.unread_count == sum(1 for seq, _, sender, _ in rows
                                       if seq > last_own and sender != row.user_id)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sends_with_one_client_id_make_one_message() -> None:
    a, b = UserFactory(), UserFactory()
    friends(a, b)
    conversation = services.start_direct(a, b)
    client_id = str(uuid.uuid4())
    results: list[tuple[int, bool]] = []

    def send() -> None:
        message, created = services.send_message(a, conversation.pk, client_id=client_id,
                                                 kind="text", body="only once")
        results.append((message.pk, created))

    for _ in range(3):  # a few rounds: the race is the point
        results.clear()
        client_id = str(uuid.uuid4())
        assert _run_together([send, send, send]) == []
        assert len({pk for pk, _ in results}) == 1
        assert sorted(created for _, created in results) == [False, False, True]
    assert Message.objects.filter(conversation=conversation).count() == 3
    seqs = sorted(int(seq or 0) for seq in Message.objects.filter(conversation=conversation)
                  .values_list("seq", flat=True))
    assert seqs == [1, 2, 3]
    assert Participant.objects.get(conversation=conversation, user=b).unread_count == 3


@pytest.mark.django_db(transaction=True)
def test_both_starting_the_same_one_to_one_at_once_get_one_conversation() -> None:
    a, b = UserFactory(), UserFactory()
    friends(a, b)
    found: list[int] = []

    def start(sender_id: int, recipient_id: int) -> Callable[[], None]:
        def job() -> None:
            users = type(a).objects.in_bulk([sender_id, recipient_id])
            found.append(services.start_direct(users[sender_id], users[recipient_id]).pk)
        return job

    assert _run_together([start(a.pk, b.pk), start(b.pk, a.pk), start(a.pk, b.pk)]) == []
    assert len(set(found)) == 1
    assert Participant.objects.filter(conversation_id=found[0]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_reaction_racing_an_unsend_never_lands_on_the_tombstone() -> None:
    a, b = UserFactory(), UserFactory()
    friends(a, b)
    conversation = services.start_direct(a, b)
    for _ in range(3):
        message, _ = services.send_message(a, conversation.pk, client_id=str(uuid.uuid4()),
                                           kind="text", body="racing")

        def react(message_id: int = message.pk) -> None:
            try:
                services.react(b, conversation.pk, message_id, emoji="👍")
            except ApplicationError as refused:  # lost the race: refused in words
                if refused.code != "not_reactable":
                    raise

        def unsend(message_id: int = message.pk) -> None:
            services.unsend_message(a, conversation.pk, message_id)

        assert _run_together([react, unsend]) == []
        message.refresh_from_db()
        assert message.state == Message.State.UNSENT
        assert not message.reactions.exists()
