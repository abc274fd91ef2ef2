"""The live chat socket (`ws/live/<id>/`) through the real ASGI server (uvicorn), the real
Redis channel layer and real websocket clients: messages reach the room (not viewers who
blocked their author), a filtered message reaches nobody but its author (told why), taps
and joins are summarised in the tick with the viewer count, a mute and a ban reach their
person (the ban closes the socket), the end closes every socket and writes the stats."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from websockets.typing import Origin

from apps.live.models import LiveStream
from apps.live.services import live_end
from apps.moderation.detection.models import TermList
from apps.moderation.detection.services import policy_rules_seed
from apps.moderation.policies import Policy
from apps.social.models import Block, Follow
from tests.factories import UserFactory
from tests.live.live_helpers import ChatSocket as Socket
from tests.live.live_helpers import chat_connected as connected
from tests.live.live_helpers import client_for, host, on_air
from tests.messaging.test_live_ws import WAIT

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base(live_asgi_server: str) -> str:
    return live_asgi_server.replace("http://", "ws://")


async def _until(socket: Socket, check: Any, timeout: float = 8.0) -> dict[str, Any]:
    """The first frame for which `check(frame)` holds (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await socket.recv(timeout=max(0.1, deadline - time.monotonic()))
        if check(frame):
            return frame


async def _texts(socket: Socket) -> list[str]:
    """The chat messages that reached the socket before its ping's answer."""
    return [f["message"]["text"] for f in await socket.quiet(skip=("tick",))
            if f["type"] == "message"]


def test_the_room_hears_messages_taps_joins_mutes_bans_and_the_end(base: str) -> None:
    policy_rules_seed()
    TermList.objects.create(name="slurs", policy=Policy.HATE_HARASSMENT, terms="scumbag",
                            outcome="block")
    creator = host()
    live, _ = on_air(creator)
    url = f"{base}/ws/live/{live.pk}/"
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    Block.objects.create(blocker=bob, blocked=carol)

    async def run() -> None:
        async with connected(url, creator) as hosting, connected(url, alice) as a, \
                connected(url, bob) as b:
            # who joined, summarised in a tick (the host is not announced)
            joined = await _until(hosting, lambda f: f["type"] == "tick" and "joined" in f)
            assert set(joined["joined"]["names"]) == {alice.username, bob.username}
            assert (joined["joined"]["others"], joined["viewers"]) == (0, 3)
            await a.send(type="send", text="hello room", client_id="c1")
            # (the first send loads the text classifier in the server process)
            ack = await _until(a, lambda f: f["type"] == "ack", timeout=60)
            assert (ack["client_id"], ack["hidden"], ack["notice"]) == ("c1", False, "")
            heard = await _until(b, lambda f: f["type"] == "message")
            assert heard["message"]["text"] == "hello room"
            assert heard["message"]["author"]["username"] == alice.username

            # a filtered message: its author is told, nobody else sees it
            await a.send(type="send", text="you absolute scumbag")
            ack = await _until(a, lambda f: f["type"] == "ack")
            assert ack["hidden"] is True
            assert "words this chat doesn't allow" in ack["notice"]
            assert "you absolute scumbag" not in await _texts(b)
            assert "you absolute scumbag" not in await _texts(hosting)

            # links: refused in words on the socket too
            await a.send(type="send", text="free coins at bit.ly/x", client_id="c2")
            error = await _until(a, lambda f: f["type"] == "error")
            assert (error["code"], error["client_id"]) == ("links_blocked", "c2")

            # taps from two viewers, aggregated in the ticks' total
            await a.send(type="like", count=3)
            await b.send(type="like", count=2)
            tick = await _until(hosting, lambda f: f["type"] == "tick" and f["likes"] == 5)
            assert tick["viewers"] == 3

            # Bob blocked Carol: her messages reach the room but not him
            async with connected(url, carol) as c:
                await c.send(type="send", text="carol says hi")
                await _until(c, lambda f: f["type"] == "ack")
                await _until(a, lambda f: f["type"] == "message"
                             and f["message"]["text"] == "carol says hi")
                assert "carol says hi" not in await _texts(b)

                # a mute reaches Alice in words; her next message is refused
                muted = await sync_to_async(client_for(creator).post)(
                    f"/api/v1/live/{live.pk}/mutes", {"user_id": str(alice.pk), "minutes": 5},
                    format="json")
                assert muted.status_code == 201
                told = await _until(a, lambda f: f["type"] == "muted")
                assert "muted in this chat for 5 minutes" in told["message"]
                await a.send(type="send", text="why?")
                error = await _until(a, lambda f: f["type"] == "error")
                assert error["code"] == "muted"

                # a ban closes Carol's socket after telling her
                banned = await sync_to_async(client_for(creator).post)(
                    f"/api/v1/live/{live.pk}/bans", {"user_id": str(carol.pk)}, format="json")
                assert banned.status_code == 201
                told = await _until(c, lambda f: f["type"] == "banned")
                assert creator.username in told["message"]
                with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                    await c.recv()
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4403

            # the end: every socket is told and closed, the stats are on the live
            await sync_to_async(live_end)(live, reason=LiveStream.EndReason.HOST)
            for socket in (hosting, a, b):
                ended = await _until(socket, lambda f: f["type"] == "ended")
                assert ended["message"] == "This live has ended."
                with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                    await socket.recv()
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4000

    asyncio.run(run())
    live.refresh_from_db()
    assert live.peak_viewers >= 3
    assert live.unique_viewers == 4
    assert live.likes == 5
    assert live.watch_seconds >= 1


def test_who_may_connect(base: str) -> None:
    creator = host()
    public, _ = on_air(creator)
    private, _ = on_air(host(), audience=LiveStream.Audience.FOLLOWERS)
    follower = UserFactory()
    Follow.objects.create(follower=follower, followee=private.host)

    async def anonymous(live: LiveStream) -> dict[str, Any]:
        url = f"{base}/ws/live/{live.pk}/"
        async with websockets.connect(url, origin=Origin(base.replace("ws://", "http://"))
                                      ) as ws:
            first: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            if first["type"] == "ready":
                await ws.send(json.dumps({"type": "send", "text": "hi"}))
                first["answer"] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
                return first
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            first["closed"] = closed.value.rcvd.code
            return first

    async def run() -> None:
        watching = await anonymous(public)  # signed out: may watch, not chat
        assert watching["you"]["can_chat"] is False
        assert watching["answer"]["code"] == "not_authenticated"
        assert watching["answer"]["message"] == "Log in to chat."
        refused = await anonymous(private)  # followers only: the same refusal as unknown
        assert (refused["code"], refused["closed"]) == (4404, 4404)
        assert "isn't available" in refused["message"]
        async with connected(f"{base}/ws/live/{private.pk}/", follower) as ok:
            await ok.send(type="ping")
            assert (await _until(ok, lambda f: f["type"] == "pong"))["type"] == "pong"

    asyncio.run(run())
