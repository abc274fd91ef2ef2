"""A websocket whose channel layer's Redis is unavailable (here dead: SIGKILL; a hung one or
a pool with no free connection in a reconnect storm raises the same RedisError after its
timeout) is told so in the socket's error shape and closed with 1013 ("try again later"),
which the web clients answer by reconnecting with backoff; when Redis is back the same
client connects and subscribes. Before, the exception ended the consumer and uvicorn
dropped the TCP connection: no words, no close code (bench/messaging.py's restart, 5,000
sockets: "No connection available" in 133 subscribes).

The shared consumer base (`core.consumers.NoPerMessageDbCloseMixin`) does it for the
messages, live chat and notification sockets alike; the messages socket is the one here."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.typing import Origin

from apps.core.consumers import CLOSE_TRY_AGAIN, UNAVAILABLE_WORDS
from tests.factories import UserFactory
from tests.faults.conftest import PrivateRedis
from tests.messaging.helpers import direct
from tests.messaging.test_socket_connect_auth import _token

WAIT = 30.0  # far above the refused connection's few milliseconds; reaching it fails


async def _frames_then_close(ws: Any) -> tuple[list[dict[str, Any]], int | None]:
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))
    except websockets.ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd is not None else None


@pytest.mark.django_db(transaction=True)
def test_a_socket_without_redis_is_told_closed_to_retry_and_comes_back(
        asgi_server_on_private_redis: str, private_redis: PrivateRedis) -> None:
    me, friend = UserFactory(), UserFactory()
    conversation = direct(me, friend)
    token = _token(me)
    url = asgi_server_on_private_redis.replace("http://", "ws://") + "/ws/messages/"
    headers = {"X-Session-Token": token}
    origin = Origin(asgi_server_on_private_redis)
    subscribe = json.dumps({"type": "subscribe", "conversation": str(conversation.pk)})

    async def run() -> None:
        # Redis up: connected and ready
        async with websockets.connect(url, additional_headers=headers, origin=origin) as ws:
            ready = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            assert ready["type"] == "ready"
            private_redis.kill()
            # a subscribe joins the conversation's group on the channel layer: refused in words
            await ws.send(subscribe)
            frames, code = await _frames_then_close(ws)
        assert frames == [{"type": "error", "code": "unavailable",
                           "message": UNAVAILABLE_WORDS}], frames
        assert code == CLOSE_TRY_AGAIN

        # a connect while it is down (the reconnect storm's case): the same answer
        async with websockets.connect(url, additional_headers=headers, origin=origin) as ws:
            frames, code = await _frames_then_close(ws)
        assert [f.get("code") for f in frames] == ["unavailable"], frames
        assert code == CLOSE_TRY_AGAIN

        private_redis.start()  # back (empty: no persistence), same port
        # as the clients do: reconnect with backoff until it is ready (the server's pool may
        # first meet a connection the restart broke, and answer "unavailable" once more)
        for attempt in range(10):
            async with websockets.connect(url, additional_headers=headers,
                                          origin=origin) as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
                if first["type"] == "ready":
                    await ws.send(subscribe)
                    answer = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
                    if answer["type"] == "subscribed":
                        assert answer["conversation"] == str(conversation.pk)
                        return
                    assert answer["code"] == "unavailable", answer
                else:
                    assert first["code"] == "unavailable", first
            await asyncio.sleep(0.5 * (attempt + 1))
        pytest.fail("no subscribe answered in 10 reconnects after Redis came back")

    asyncio.run(run())
