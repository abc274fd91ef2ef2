"""Live delivery over the websocket (issue 14, "Delivery → Live"): who may connect, the
person's group gets new and grown notifications in the inbox API's shape and the unread
count, and a reconnect resumes from the last seq without loss or duplicates. In process
(channels' communicator, the real Redis channel layer) and through the live ASGI server."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.test import Client
from django.utils import timezone
from websockets.typing import Origin

from apps.accounts.models import User
from apps.notifications import services
from apps.notifications.models import Notification
from apps.notifications.services import Candidate
from swipeme_site.routing import websocket_urlpatterns
from tests.conftest import open_redis_breaker
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

APP = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
PASSWORD = "correct-horse-battery"


class WebsocketCommunicator(ApplicationCommunicator):  # type: ignore[misc]
    """channels.testing's communicator, which this project cannot import (its package
    imports daphne): a websocket scope, connect, JSON in and out."""

    def __init__(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        path, _, query = path.partition("?")
        super().__init__(app, {"type": "websocket", "path": path, "headers": headers,
                               "query_string": query.encode(), "subprotocols": []})

    async def connect(self, timeout: float = 10) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        reply = await self.receive_output(timeout)
        return reply["type"] == "websocket.accept", reply

    async def receive_json_from(self, timeout: float = 10) -> Any:
        reply = await self.receive_output(timeout)
        assert reply["type"] == "websocket.send", reply
        return json.loads(reply["text"])

    async def send_json_to(self, data: Any) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def disconnect(self, code: int = 1000) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(5)


def _cookie(user: User) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


def _like(owner: User, *, post_id: int | None = None) -> Notification:
    """Someone new likes one of the owner's posts (a new post unless given: grouped per post)."""
    if post_id is None:
        post_id = PublishedPostFactory(author=owner).pk
    liker = UserFactory()
    [row] = services.notify([Candidate(owner.pk, "post_liked", f"t:{liker.pk}:{post_id}",
                                       actor_id=liker.pk, target_type="post",
                                       target_id=post_id,
                                       group_key=f"post_liked:post:{post_id}")])
    return row


async def _connect(headers: list[tuple[bytes, bytes]],
                   query: str = "") -> WebsocketCommunicator:
    ws = WebsocketCommunicator(APP, f"/ws/notifications/{query}", headers=headers)
    connected, _ = await ws.connect(timeout=10)
    assert connected
    return ws


async def _until_count(ws: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Messages up to and including the next unread_count (the end of a replay)."""
    got = []
    while True:
        message = await ws.receive_json_from(timeout=10)
        got.append(message)
        if message["type"] == "unread_count":
            return got


async def _closed_with(ws: WebsocketCommunicator) -> tuple[dict[str, Any], int]:
    error = await ws.receive_json_from(timeout=10)
    closed = await ws.receive_output(timeout=10)
    assert closed["type"] == "websocket.close"
    return error, int(closed["code"])


def test_refused_when_logged_out_deactivated_or_with_a_bad_seq() -> None:
    owner = UserFactory()
    cookie = _cookie(owner)

    async def run() -> None:
        error, code = await _closed_with(await _connect([]))
        assert (code, error["code"]) == (4401, 4401)
        assert error["message"] == "Log in to get live notifications."
        error, code = await _closed_with(await _connect(
            [(b"x-session-token", b"not-a-token")]))
        assert code == 4401
        error, code = await _closed_with(await _connect(cookie, "?after=-3"))
        assert code == 4400
        assert "whole number" in error["message"]
        await sync_to_async(User.objects.filter(pk=owner.pk).update)(
            deactivated_at=timezone.now())
        error, code = await _closed_with(await _connect(cookie))
        assert code == 4403
        assert "deactivated" in error["message"]

    asyncio.run(run())


def test_the_group_gets_new_and_grown_notifications_and_the_unread_count() -> None:
    owner, other = UserFactory(), UserFactory()
    cookies = _cookie(owner), _cookie(other)

    async def run() -> None:
        ws = await _connect(cookies[0])
        assert await _until_count(ws) == [{"type": "unread_count", "unread_count": 0,
                                           "seq": 0}]
        bystander = await _connect(cookies[1])
        await _until_count(bystander)

        first = await sync_to_async(_like)(owner)
        message = await ws.receive_json_from(timeout=10)
        assert message["type"] == "notification"
        assert message["seq"] == first.seq
        assert message["unread_count"] == 1
        item = message["notification"]
        assert item["id"] == str(first.pk)
        assert item["type"] == "post_liked"
        assert item["read"] is False
        assert "liked" in item["title"]
        assert set(item) >= {"id", "seq", "title", "body", "url", "actors", "actor_count",
                             "extra", "read", "created_at", "updated_at"}

        # the same group grows: the same row, a new seq, two actors
        grown = await sync_to_async(_like)(owner, post_id=int(first.target_id or 0))
        assert grown.pk == first.pk
        message = await ws.receive_json_from(timeout=10)
        assert (message["notification"]["id"], message["seq"]) == (str(first.pk), grown.seq)
        assert message["seq"] > first.seq
        assert message["notification"]["actor_count"] == 2

        await sync_to_async(services.notifications_mark_all_read)(user=owner)
        assert await ws.receive_json_from(timeout=10) == {"type": "unread_count",
                                                           "unread_count": 0}
        # nothing reached the other person
        assert await bystander.receive_nothing(timeout=0.5)
        await ws.disconnect()
        await bystander.disconnect()

    asyncio.run(run())


def test_an_idle_connection_stays_open_past_the_channel_layers_blocking_pop() -> None:
    """redis-py 8's default 5 s read timeout ended the layer's 5 s BZPOPMIN with a
    TimeoutError: every websocket idle for 5 s was torn down (settings: the layer's host
    gets a longer socket timeout)."""
    owner = UserFactory()
    cookie = _cookie(owner)

    async def run() -> None:
        ws = await _connect(cookie)
        await _until_count(ws)
        await asyncio.sleep(7)
        row = await sync_to_async(_like)(owner)
        message = await ws.receive_json_from(timeout=10)
        assert message["seq"] == row.seq
        await ws.disconnect()

    asyncio.run(run())


def test_a_redis_outage_does_not_fail_the_notification_write() -> None:
    owner = UserFactory()
    open_redis_breaker()
    row = _like(owner)
    assert Notification.objects.filter(pk=row.pk, seq=row.seq).exists()


def test_resume_replays_what_was_missed_then_live_without_duplicates() -> None:
    owner = UserFactory()
    seen = _like(owner)
    cookie = _cookie(owner)

    async def run() -> None:
        # dropped after `seen`; three states are made while disconnected (one grows `seen`)
        missed = [await sync_to_async(_like)(owner) for _ in range(2)]
        grown = await sync_to_async(_like)(owner, post_id=int(seen.target_id or 0))
        ws = await _connect(cookie, f"?after={seen.seq}")
        replay = await _until_count(ws)
        seqs = [m["seq"] for m in replay if m["type"] == "notification"]
        assert seqs == [missed[0].seq, missed[1].seq, grown.seq]
        assert replay[-1] == {"type": "unread_count", "unread_count": 3, "seq": grown.seq}
        # a resume message with a seq already covered sends nothing twice
        await ws.send_json_to({"type": "resume", "after": seen.seq})
        assert [m["type"] for m in await _until_count(ws)] == ["unread_count"]
        live = await sync_to_async(_like)(owner)
        message = await ws.receive_json_from(timeout=10)
        assert message["seq"] == live.seq
        assert await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()

    asyncio.run(run())


def test_notifications_made_during_the_replay_arrive_once() -> None:
    """The replay/live race: states committed while clients connect and replay, from
    another thread (real transactions); every client ends with every seq once."""
    owner = UserFactory()
    posts = [PublishedPostFactory(author=owner).pk for _ in range(3)]
    cookie = _cookie(owner)
    for post_id in posts:  # an inbox to replay (and groups that grow meanwhile)
        _like(owner, post_id=post_id)
    made: list[int] = []

    def writer() -> None:
        from django.db import connection
        try:
            for n in range(40):
                made.append(_like(owner, post_id=posts[n % 3]).seq)
        finally:
            connection.close()

    last = len(posts) + 40  # the writer's last state (it may arrive before _like returns)

    async def client() -> list[int]:
        ws = await _connect(cookie, "?after=0")
        got: list[int] = []
        # (a communicator's receive timeout cancels the consumer: wait for the last state)
        while last not in got:
            message = await ws.receive_json_from(timeout=20)
            if message["type"] == "notification":
                got.append(message["seq"])
        assert await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()
        return got

    async def run() -> list[list[int]]:
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            results = []
            for _ in range(4):  # staggered connects: some replay while the writer writes
                results.append(asyncio.ensure_future(client()))
                await asyncio.sleep(0.05)
            return list(await asyncio.gather(*results))
        finally:
            await sync_to_async(thread.join, thread_sensitive=False)()

    results = asyncio.run(run())
    assert made[-1] == last
    for got in results:
        assert len(got) == len(set(got)), "a state was sent twice"
        # every state made after the connect (and the 3 groups' latest) arrived
        current = set(Notification.objects.filter(recipient=owner).values_list("seq", flat=True))
        assert current <= set(got), sorted(current - set(got))


def test_live_server_token_and_cookie_clients_resume_after_a_dropped_connection(
        live_asgi_server: str) -> None:
    owner = UserFactory()
    url = live_asgi_server.replace("http://", "ws://") + "/ws/notifications/"
    response = httpx.post(f"{live_asgi_server}/_allauth/app/v1/auth/login",
                          json={"username": owner.username, "password": PASSWORD},
                          headers={"X-Device-ID": "live-ws", "X-Client-Platform": "ios",
                                   "X-App-Version": "1.0.0"}, timeout=10)
    assert response.status_code == 200, response.text
    token = {"X-Session-Token": response.json()["meta"]["session_token"]}
    cookie = {"Cookie": _cookie(owner)[0][1].decode()}

    ORIGIN = Origin(live_asgi_server)  # noqa: N806

    async def recv(ws: Any) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return message

    async def run() -> None:
        last = 0
        for headers in (token, cookie):
            async with websockets.connect(url + f"?after={last}", origin=ORIGIN,
                                          additional_headers=headers) as ws:
                while (message := await recv(ws))["type"] != "unread_count":
                    last = max(last, message["seq"])
                row = await sync_to_async(_like)(owner)
                message = await recv(ws)
                assert (message["type"], message["seq"]) == ("notification", row.seq)
                last = row.seq
            # dropped; two are made while nobody listens
            missed = [await sync_to_async(_like)(owner) for _ in range(2)]
            async with websockets.connect(url + f"?after={last}", origin=ORIGIN,
                                          additional_headers=headers) as ws:
                got = []
                while (message := await recv(ws))["type"] != "unread_count":
                    got.append(message["seq"])
                assert got == [m.seq for m in missed]
                last = got[-1]
        async with websockets.connect(url, origin=ORIGIN) as ws:
            error = await recv(ws)
            assert error["code"] == 4401
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401

    asyncio.run(run())
