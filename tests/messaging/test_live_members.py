"""The messages websocket and the members (issue 15, "Delivery", "Read state", "Safety"),
through the live server with real websocket clients: typing reaches the others and not the
sender, read receipts follow the reader's setting, a removed member and a blocked person get
nothing more, a lost announcement is filled from PostgreSQL, and an offline member is told
through the notifications app (an online or muted one is not)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import TestCase
from django.utils import timezone

from apps.accounts.models import User
from apps.core import redis_health
from apps.core.models import OutboxTask
from apps.core.outbox import outbox_dispatch
from apps.messaging import live, selectors, services
from apps.messaging.models import Conversation, Message
from apps.notifications import types
from apps.notifications.models import Notification
from apps.notifications.services import texts
from apps.social import services as social_services
from tests.conftest import open_redis_breaker
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.messaging.helpers import direct, friends, send
from tests.messaging.test_live_ws import _messages, connected, ws_url  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _group(n: int) -> tuple[list[User], Conversation]:
    people: list[User] = [UserFactory() for _ in range(n)]
    for i, a in enumerate(people):
        for b in people[i + 1:]:
            friends(a, b)
    return people, services.create_group(people[0], [p.pk for p in people[1:]], "crew")


def _on_commit(fn: object, *args: object, **kwargs: object) -> object:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return fn(*args, **kwargs)  # type: ignore[operator]


def test_typing_reaches_the_others_not_the_sender(ws_url: str) -> None:  # noqa: F811
    (a, b, c), group = _group(3)

    async def run() -> None:
        async with connected(ws_url, a) as alice, connected(ws_url, a) as alice_phone, \
                connected(ws_url, b) as bob, connected(ws_url, c) as carol:
            for socket in (alice, alice_phone, bob):
                await socket.subscribe(group)
            await alice.send(type="typing", conversation=str(group.pk))
            _, typing = await bob.until("typing")
            assert typing["user"]["id"] == str(a.pk)
            assert typing["user"]["username"] == a.username
            assert typing["conversation"] == str(group.pk)
            assert await alice.quiet() == []  # not back to the sender
            assert await alice_phone.quiet() == []  # nor to their other devices
            assert await carol.quiet() == []  # not subscribed: no typing
            # and only a member who subscribed may announce it
            await carol.send(type="typing", conversation=str(group.pk))
            _, error = await carol.until("error")
            assert error["code"] == "not_subscribed"
            assert await bob.quiet() == []

    asyncio.run(run())


def test_read_receipts_reach_the_others_unless_the_reader_hides_them(ws_url: str  # noqa: F811
                                                                     ) -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    first = send(a, conversation, "one")

    async def run() -> None:
        async with connected(ws_url, a) as alice, connected(ws_url, b) as bob:
            await alice.subscribe(conversation)
            await bob.subscribe(conversation)
            await bob.send(type="read", conversation=str(conversation.pk), seq=first.seq)
            _, receipt = await alice.until("read")
            assert receipt == {"type": "read", "conversation": str(conversation.pk),
                               "user": str(b.pk), "seq": first.seq}
            _, own = await bob.until("read")  # the reader's own connections keep in step
            assert own["seq"] == first.seq
            await sync_to_async(services.update_settings)(b, read_receipts=False)
            second = await sync_to_async(send)(a, conversation, "two")
            await alice.quiet(skip=("inbox", "message"))
            await bob.send(type="read", conversation=str(conversation.pk), seq=second.seq)
            _, own = await bob.until("read", skip=("inbox", "message"))
            assert own["seq"] == second.seq
            assert [f for f in await alice.quiet(skip=("inbox", "message"))
                    if f["type"] == "read"] == []

    asyncio.run(run())


def test_a_removed_member_gets_nothing_more(ws_url: str) -> None:  # noqa: F811
    (a, b, c, d), group = _group(4)

    async def run() -> None:
        async with connected(ws_url, b) as bob, connected(ws_url, c) as carol, \
                connected(ws_url, d) as dan:
            await bob.subscribe(group)
            await carol.subscribe(group)
            await dan.subscribe(group)
            await sync_to_async(_on_commit)(services.leave, d, group.pk)
            _, gone = await dan.until("unsubscribed")
            assert (gone["reason"], gone["message"]) == ("left", "You left this conversation.")
            await sync_to_async(_on_commit)(services.remove_member, a, group.pk, c.pk)
            _, gone = await carol.until("unsubscribed")
            assert gone["reason"] == "removed"
            assert gone["message"] == "You were removed from this conversation."
            await sync_to_async(send)(a, group, "after carol left")
            await carol.send(type="typing", conversation=str(group.pk))
            frames = await carol.quiet(skip=())
            assert [f["type"] for f in frames] == ["inbox", "error"] or [
                f["type"] for f in frames] == ["error"]
            assert all(f.get("state") in (None, "removed") for f in frames)
            assert "after carol left" not in str(frames)
            # subscribing again is refused like for a stranger
            await carol.send(type="subscribe", conversation=str(group.pk), after=0)
            _, refused = await carol.until("error")
            assert refused["code"] == "not_found"
            assert refused["message"] == "Conversation not found."
            await carol.send(type="send", conversation=str(group.pk),
                             client_id=str(uuid.uuid4()), body="still here?")
            _, refused = await carol.until("error")
            assert refused["code"] == "not_found"
            got = [m["message"] for m in _messages(await bob.quiet())]
            assert [(m["kind"], m["body"]) for m in got] == [
                ("system", ""), ("system", ""), ("text", "after carol left")]  # left, removed
            assert "after carol left" not in str(await dan.quiet(skip=()))

    asyncio.run(run())


def test_a_block_drops_the_pair_at_once(ws_url: str) -> None:  # noqa: F811
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)

    async def run() -> None:
        async with connected(ws_url, a) as alice, connected(ws_url, b) as bob:
            await alice.subscribe(conversation)
            await bob.subscribe(conversation)
            await sync_to_async(social_services.block_create)(blocker=b, blocked=a)
            for socket in (alice, bob):
                _, gone = await socket.until("unsubscribed")
                assert gone["reason"] == "blocked"
                assert gone["message"] == "You can no longer message each other."
            await alice.send(type="typing", conversation=str(conversation.pk))
            assert (await alice.until("error"))[1]["code"] == "not_subscribed"
            assert await bob.quiet() == []

    asyncio.run(run())


def test_an_unblock_shows_the_others_group_messages_again_without_resubscribing(
        ws_url: str) -> None:  # noqa: F811
    """In a group, a block hides the pair's messages from each other on the open
    connections; an unblock shows them again at once (unless a block is left the other
    way)."""
    (a, b, c), group = _group(3)

    async def run() -> None:
        async with connected(ws_url, a) as alice:
            await alice.subscribe(group)
            await sync_to_async(_on_commit)(social_services.block_create, blocker=a, blocked=b)
            await sync_to_async(_on_commit)(send, b, group, "while blocked")
            assert "while blocked" not in str(await alice.quiet())
            await sync_to_async(_on_commit)(social_services.block_delete, blocker=a, blocked=b)
            await sync_to_async(_on_commit)(send, b, group, "after the unblock")
            got = [m["message"]["body"] for m in _messages(await alice.quiet())]
            assert got == ["after the unblock"]
            # blocked both ways, one unblock leaves the other block standing
            await sync_to_async(_on_commit)(social_services.block_create, blocker=a, blocked=b)
            await sync_to_async(_on_commit)(social_services.block_create, blocker=b, blocked=a)
            await sync_to_async(_on_commit)(social_services.block_delete, blocker=a, blocked=b)
            await sync_to_async(_on_commit)(send, c, group, "from carol")
            await sync_to_async(_on_commit)(send, b, group, "still hidden")
            got = [m["message"]["body"] for m in _messages(await alice.quiet())]
            assert got == ["from carol"]

    asyncio.run(run())


def test_a_lost_announcement_is_filled_from_postgresql_in_order(ws_url: str  # noqa: F811
                                                                 ) -> None:
    """Changes whose announcements never went out (Redis was down for the writer): the next
    announcement is past the connection's mark, so, after waiting a moment for the missing
    ones, what lies between is read from PostgreSQL and sent first."""
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)

    def send_unannounced(body: str) -> Message:
        open_redis_breaker()  # Redis "down" for this process: the announcement is dropped
        try:
            return send(a, conversation, body)
        finally:
            redis_health.reset_all()

    async def run() -> None:
        async with connected(ws_url, b) as bob:
            await bob.subscribe(conversation, after=0)
            lost = [await sync_to_async(send_unannounced)(f"lost {i}") for i in range(2)]
            assert await bob.quiet() == []  # nothing announced
            await sync_to_async(send)(a, conversation, "announced")
            got: list[dict[str, Any]] = []
            while not got or got[-1]["message"]["body"] != "announced":
                got += _messages([await bob.recv()])
            assert [m["message"]["body"] for m in got] == ["lost 0", "lost 1", "announced"]
            seqs = [m.seq for m in lost]
            assert [m["change_seq"] for m in got] == [*seqs, (seqs[-1] or 0) + 1]

    asyncio.run(run())


def _wait_for(predicate: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def _queued_for(message: Message) -> bool:
    return OutboxTask.objects.filter(task="apps.messaging.notify_offline",
                                     args__0=str(message.pk)).exists()


@pytest.mark.usefixtures("celery_worker_process")
def test_an_offline_member_is_notified_an_online_or_muted_one_is_not(ws_url: str  # noqa: F811
                                                                     ) -> None:
    """The rule: a member with no open `ws/messages/` connection (anywhere) gets an in-app
    notification (and a push, per their preferences), one per conversation while unread;
    with a connection open they are told by the socket instead; a muted conversation tells
    nobody; reading the thread reads the notification."""
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    first, second = send(a, conversation, "are you there?"), send(a, conversation, "hello?")
    assert _queued_for(first)
    assert _queued_for(second)
    rows = Notification.objects.filter(recipient=b, type=types.DIRECT_MESSAGE.name)
    _wait_for(lambda: rows.filter(actor_count=2).exists())
    [row] = rows
    assert (row.target_type, row.target_id, row.actor_id) == ("conversation", conversation.pk,
                                                              a.pk)
    assert texts.describe(row) == (f"{a.username} sent you 2 messages", "hello?",
                                   f"/messages/{conversation.pk}")

    async def online() -> Message:
        async with connected(ws_url, b):
            return await sync_to_async(send)(a, conversation, "now you are here")

    while_online = asyncio.run(online())
    assert not _queued_for(while_online)
    _wait_for(lambda: not live.online_user_ids([b.pk]))  # the closed connection's entry goes
    assert _queued_for(send(a, conversation, "gone again?"))

    async def online_without_redis() -> Message:
        async with connected(ws_url, b):
            open_redis_breaker()  # presence unknown: told rather than lost
            try:
                return await sync_to_async(send)(a, conversation, "is Redis there?")
            finally:
                redis_health.reset_all()

    assert _queued_for(asyncio.run(online_without_redis()))
    outbox_dispatch()  # the broker is back: what the beat's dispatcher does
    _wait_for(lambda: rows.filter(actor_count=4).exists())
    _on_commit(services.set_muted, b, conversation.pk,
               until=timezone.now() + timedelta(hours=8))
    while_muted = send(a, conversation, "muted")
    assert not _queued_for(while_muted)
    row.refresh_from_db()
    assert row.actor_count == 4
    assert row.read_at is None
    participant = selectors.participant_for(b, conversation.pk)
    _on_commit(services.mark_read, participant, while_muted.seq)
    row.refresh_from_db()
    assert row.read_at is not None  # read in the thread: read in the notifications too


def test_crossing_announcements_arrive_in_order_once(ws_url: str) -> None:  # noqa: F811
    """Two writers' after-commit sends crossing: the later change announced first is held
    until the earlier one arrives, then both go out in order, once each."""
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)

    def two_unannounced() -> list[Message]:
        open_redis_breaker()
        try:
            return [send(a, conversation, f"crossing {i}") for i in range(2)]
        finally:
            redis_health.reset_all()

    async def run() -> None:
        async with connected(ws_url, b) as bob:
            await bob.subscribe(conversation, after=0)
            first, second = await sync_to_async(two_unannounced)()
            await sync_to_async(live.message_changed)(second)
            await sync_to_async(live.message_changed)(first)
            got = _messages(await bob.quiet())
            assert [(m["change_seq"], m["message"]["body"]) for m in got] == [
                (first.seq, "crossing 0"), (second.seq, "crossing 1")]

    asyncio.run(run())


def test_what_depends_on_the_reader_is_shown_per_reader(ws_url: str) -> None:  # noqa: F811
    """One announcement for the group, but a shared post's card only for a member who may see
    the post (not for one who blocked its author), and a reply's quote blanked for a member
    blocked either way with the quoted sender."""
    (a, b, c, d), group = _group(4)
    post = PublishedPostFactory()
    social_services.block_create(blocker=c, blocked=post.author)
    quoted = send(d, group, "a secret plan")
    social_services.block_create(blocker=b, blocked=d)

    async def run() -> None:
        async with connected(ws_url, b) as bob, connected(ws_url, c) as carol:
            await bob.subscribe(group)
            await carol.subscribe(group)
            await sync_to_async(send)(a, group, "", kind="post", shared_post_id=post.pk)
            await sync_to_async(send)(a, group, "what about it?", reply_to_id=quoted.pk)
            seen_by_bob = [m["message"] for m in _messages(await bob.quiet())]
            seen_by_carol = [m["message"] for m in _messages(await carol.quiet())]
            assert seen_by_bob[0]["shared_post"]["id"] == str(post.pk)
            assert seen_by_carol[0]["shared_post"] == {"unavailable": True}
            assert seen_by_bob[1]["reply_to"]["body_preview"] == ""
            assert seen_by_carol[1]["reply_to"]["body_preview"] == "a secret plan"

    asyncio.run(run())


def test_a_message_deleted_for_me_stays_gone_on_my_other_connections(ws_url: str  # noqa: F811
                                                                     ) -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    old, kept = send(a, conversation, "deleted for bob"), send(a, conversation, "kept")

    async def run() -> None:
        async with connected(ws_url, b) as bob:
            await bob.subscribe(conversation)
            await sync_to_async(_on_commit)(services.hide_message, b, conversation.pk, old.pk)
            _, hidden = await bob.until("hidden")
            assert hidden == {"type": "hidden", "conversation": str(conversation.pk),
                              "message": str(old.pk)}
            for message in (old, kept):  # a's reactions move both messages' change_seq
                await sync_to_async(_on_commit)(services.react, a, conversation.pk,
                                                message.pk, emoji="😂")
            assert [m["message"]["body"] for m in _messages(await bob.quiet())] == ["kept"]
        async with connected(ws_url, b) as phone:  # and on a connection opened later
            await phone.subscribe(conversation)
            await sync_to_async(_on_commit)(services.react, a, conversation.pk, old.pk,
                                            emoji="🔥")
            assert _messages(await phone.quiet()) == []

    asyncio.run(run())


def test_the_inbox_rows_carry_the_counts_and_the_preview(ws_url: str) -> None:  # noqa: F811
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    conversation, other = direct(a, b), direct(c, b)
    send(c, other, "an earlier one")  # unread elsewhere counts in the total

    async def run() -> None:
        async with connected(ws_url, b) as bob:  # the inbox page: no subscription
            sent = [await sync_to_async(send)(a, conversation, f"ping {i}") for i in range(2)]
            rows = [(await bob.until("inbox", skip=()))[1] for _ in sent]
            assert [(r["unread_count"], r["unread_total"]) for r in rows] == [(1, 2), (2, 3)]
            assert rows[-1]["last_message"]["body"] == "ping 1"
            assert rows[-1]["last_message"]["sender"] == str(a.pk)
            await bob.send(type="read", conversation=str(conversation.pk), seq=sent[-1].seq)
            _, read = await bob.until("inbox", skip=("read",))
            assert (read["unread_count"], read["unread_total"]) == (0, 1)

    asyncio.run(run())
