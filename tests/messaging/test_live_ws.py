"""The direct messages websocket (`ws/messages/`, issue 15 "Delivery") through the real
ASGI server (uvicorn), the real Redis channel layer and real websocket clients: order per
conversation, client-id retries, resume after a reconnect (edits and unsends included),
typing, read receipts and their setting, members removed or blocked, presence."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.test import Client, TestCase
from websockets.typing import Origin

from apps.accounts.models import User
from apps.messaging import services
from apps.messaging.models import Conversation, Message
from tests.factories import UserFactory
from tests.messaging.helpers import direct, friends, send

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10.0


def _cookie(user: User) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}


class Socket:
    """One client: JSON frames in and out."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        return frame

    async def until(self, kind: str, *, skip: tuple[str, ...] = ("inbox",)) -> tuple[
            list[dict[str, Any]], dict[str, Any]]:
        """The frames before the next `kind` one (without the skipped types), and it."""
        before = []
        while (frame := await self.recv())["type"] != kind:
            if frame["type"] not in skip:
                before.append(frame)
        return before, frame

    async def quiet(self, *, skip: tuple[str, ...] = ("inbox",)) -> list[dict[str, Any]]:
        """Everything (but the skipped types) that arrives before the answer to a ping:
        the server handles one frame at a time, so what was announced before the ping's
        answer went out is in this list."""
        await asyncio.sleep(0.3)  # announcements sent from another process are in flight
        await self.send(type="ping")
        before, _ = await self.until("pong", skip=skip)
        return before

    async def subscribe(self, conversation: Conversation | int, after: int | None = None
                        ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        cid = conversation.pk if isinstance(conversation, Conversation) else conversation
        frame: dict[str, Any] = {"conversation": str(cid)}
        if after is not None:
            frame["after"] = after
        await self.send(type="subscribe", **frame)
        return await self.until("subscribed")


@pytest.fixture
def ws_url(live_asgi_server: str) -> str:
    return live_asgi_server.replace("http://", "ws://") + "/ws/messages/"


@asynccontextmanager
async def connected(url: str, user: User, *, cookie: dict[str, str] | None = None
                    ) -> AsyncIterator[Socket]:
    headers = cookie if cookie is not None else await sync_to_async(_cookie)(user)
    async with websockets.connect(url, origin=Origin(url.replace("ws://", "http://")
                                                     .split("/ws/")[0]),
                                  additional_headers=headers) as ws:
        socket = Socket(ws)
        ready = await socket.recv()
        assert ready["type"] == "ready", ready
        yield socket


def _messages(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "message"]


def test_refused_when_logged_out(ws_url: str) -> None:
    async def run() -> None:
        async with websockets.connect(ws_url, origin=Origin(
                ws_url.replace("ws://", "http://").split("/ws/")[0])) as ws:
            error = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            assert error == {"type": "error", "code": 4401,
                             "message": "Log in to get your messages."}
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401

    asyncio.run(run())


def test_order_per_conversation_and_a_client_id_retry_never_duplicates(ws_url: str) -> None:
    """Three members, two of them writing at the same time (over the socket and through the
    service from other threads): the reader gets every message once, in seq order; a
    retried client_id is acknowledged with the first message and sends nothing more."""
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    friends(a, b)
    friends(a, c)
    friends(b, c)
    group = services.create_group(a, [b.pk, c.pk], "trio")

    def burst(sender: User, n: int) -> None:
        for i in range(n):
            send(sender, group, f"{sender.username} {i}")

    async def run() -> None:
        async with connected(ws_url, a) as alice, connected(ws_url, c) as carol:
            _, first = await carol.subscribe(group, after=0)
            await alice.subscribe(group, after=first["upto"])
            client_id = str(uuid.uuid4())
            threads = [threading.Thread(target=burst, args=(b, 15)) for _ in range(2)]
            for t in threads:
                t.start()
            for i in range(10):
                await alice.send(type="send", conversation=str(group.pk),
                                 client_id=client_id if i == 3 else str(uuid.uuid4()),
                                 body=f"alice {i}")
                _, ack = await alice.until("ack", skip=("inbox", "message"))
                assert ack["created"] is True
            await alice.send(type="send", conversation=str(group.pk), client_id=client_id,
                             body="alice 3 again")  # the retry of an answered send
            _, retry = await alice.until("ack", skip=("inbox", "message"))
            assert retry["created"] is False
            assert retry["message"]["body"] == "alice 3"
            for t in threads:
                await asyncio.to_thread(t.join)
            got = _messages(await carol.quiet())
            seqs = [m["message"]["seq"] for m in got]
            assert seqs == sorted(seqs)
            assert len(seqs) == len(set(seqs))
            expected = await sync_to_async(lambda: list(
                Message.objects.filter(conversation=group, seq__gt=first["upto"])
                .order_by("seq").values_list("seq", flat=True)))()
            assert seqs == expected
            assert len(seqs) == 40  # 30 + 10: the retry sent nothing
            assert [m["change_seq"] for m in got] == seqs

    asyncio.run(run())


def test_resume_after_a_reconnect_loses_nothing_edits_and_unsends_included(ws_url: str
                                                                          ) -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    early = [send(a, conversation, f"early {i}") for i in range(3)]

    async def run() -> None:
        async with connected(ws_url, b) as bob:
            replayed, subscribed = await bob.subscribe(conversation, after=0)
            assert [m["message"]["body"] for m in _messages(replayed)] == [
                "early 0", "early 1", "early 2"]
            last = subscribed["upto"]
        # dropped: new messages, an edit and an unsend of earlier ones, a reaction
        await sync_to_async(_changes_while_away)(a, conversation, early)
        async with connected(ws_url, b) as bob:
            replayed, subscribed = await bob.subscribe(conversation, after=last)
            got = _messages(replayed)
            change_seqs = [m["change_seq"] for m in got]
            assert change_seqs == sorted(change_seqs)
            assert change_seqs[0] > last
            by_id = {m["message"]["id"]: m["message"] for m in got}
            assert len(by_id) == len(got)  # each message once, in its latest state
            assert by_id[str(early[0].pk)]["body"] == "early 0, edited"
            assert by_id[str(early[1].pk)]["unsent"] is True
            assert by_id[str(early[1].pk)]["body"] == ""
            assert [r["emoji"] for r in by_id[str(early[2].pk)]["reactions"]] == ["🔥"]
            assert [m["body"] for m in by_id.values() if m["body"].startswith("away")] == [
                "away 0", "away 1"]
            assert subscribed["upto"] == max(change_seqs)
            # and live after the replay, nothing twice
            await sync_to_async(send)(a, conversation, "live")
            live = _messages(await bob.quiet())
            assert [m["message"]["body"] for m in live] == ["live"]

    asyncio.run(run())


def _changes_while_away(a: User, conversation: Conversation, early: list[Message]) -> None:
    send(a, conversation, "away 0")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.edit_message(a, conversation.pk, early[0].pk, body="early 0, edited")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.unsend_message(a, conversation.pk, early[1].pk)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.react(a, conversation.pk, early[2].pk, emoji="🔥")
    send(a, conversation, "away 1")


def test_bad_frames_are_answered_in_words_and_the_socket_stays_open(ws_url: str) -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    stranger = UserFactory()

    async def run() -> None:
        async with connected(ws_url, a) as alice, connected(ws_url, stranger) as eve:
            await alice.ws.send("not json")
            assert (await alice.recv())["message"] == "Send JSON frames."
            await alice.send(type="shout")
            assert (await alice.recv())["message"].startswith("Unknown frame")
            await alice.send(type="subscribe", conversation=str(conversation.pk), after=-1)
            error = await alice.recv()
            assert error["fields"] == {"after": ["A whole number, 0 or more."]}
            await alice.send(type="subscribe", conversation="nope")
            assert (await alice.recv())["code"] == "not_found"
            await alice.send(type="send", conversation=str(conversation.pk), body="hi")
            error = await alice.recv()
            assert error["fields"] == {"client_id": ["Required."]}
            await alice.send(type="read", conversation=str(conversation.pk), seq="x")
            assert (await alice.recv())["fields"] == {"seq": ["A whole number, 0 or more."]}
            # a stranger is told the conversation does not exist, whatever they try
            for frame in ({"type": "subscribe", "after": 0}, {"type": "read", "seq": 1},
                          {"type": "send", "client_id": str(uuid.uuid4()), "body": "hey"}):
                await eve.send(conversation=str(conversation.pk), **frame)
                error = await eve.recv()
                assert (error["code"], error["message"]) == ("not_found",
                                                             "Conversation not found.")
            await alice.send(type="ping")
            assert (await alice.recv())["type"] == "pong"

    asyncio.run(run())
