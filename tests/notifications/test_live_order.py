"""Two writers' after-commit sends can cross: seq N+1 is announced before N (per person
seqs commit in order, the sends after the commits do not). The websocket still sends N
before N+1, so the client's last seq is a safe resume point: a client that got the first
message and lost the connection resumes from it and gets the rest, nothing lost (it used
to get N+1 first, resume "after N+1" and never see N). Real channel layer and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from apps.core import redis_health
from apps.notifications import live
from apps.notifications.models import Notification
from tests.conftest import open_redis_breaker
from tests.factories import UserFactory
from tests.notifications.test_live import _connect, _cookie, _like, _until_count

pytestmark = pytest.mark.django_db(transaction=True)


def _written_unannounced(owner_id: int, count: int) -> list[Notification]:
    """`count` committed states whose writers' sends have not happened yet (the breaker
    is open while they commit: their announcements are skipped; the test sends them)."""
    from apps.accounts.models import User

    owner = User.objects.get(pk=owner_id)
    open_redis_breaker()
    try:
        return [_like(owner) for _ in range(count)]
    finally:
        redis_health.breaker().reset()


def test_crossed_announcements_go_out_in_seq_order_and_resume_loses_nothing() -> None:
    owner = UserFactory()
    _like(owner)
    cookie = _cookie(owner)

    async def run() -> None:
        ws = await _connect(cookie)
        upto = (await _until_count(ws))[-1]["seq"]
        low, high = await sync_to_async(_written_unannounced)(owner.pk, 2)
        assert (low.seq, high.seq) == (upto + 1, upto + 2)
        await sync_to_async(live.announce)([high])  # N+1's send first
        first = await ws.receive_json_from(timeout=10)
        # the connection drops after its first message: the client resumes from the last
        # seq it saw, and must get everything else
        await ws.disconnect()
        assert first["seq"] == low.seq
        seen = [first["seq"]]
        ws = await _connect(cookie, f"?after={max(seen)}")
        seen += [m["seq"] for m in await _until_count(ws) if m["type"] == "notification"]
        assert seen == [low.seq, high.seq]
        await ws.disconnect()

    asyncio.run(run())


def test_a_late_announcement_of_a_lower_seq_is_not_sent_twice() -> None:
    owner = UserFactory()
    cookie = _cookie(owner)

    async def run() -> None:
        ws = await _connect(cookie)
        await _until_count(ws)
        rows = await sync_to_async(_written_unannounced)(owner.pk, 3)
        await sync_to_async(live.announce)([rows[2]])
        got = [await ws.receive_json_from(timeout=10) for _ in range(3)]
        assert [m["seq"] for m in got] == [r.seq for r in rows]
        assert [m["notification"]["id"] for m in got] == [str(r.pk) for r in rows]
        await sync_to_async(live.announce)([rows[0]])
        await sync_to_async(live.announce)([rows[1]])
        assert await ws.receive_nothing(timeout=0.5)
        # and live goes on in order
        nxt = await sync_to_async(_like)(owner)
        assert (await ws.receive_json_from(timeout=10))["seq"] == nxt.seq
        await ws.disconnect()

    asyncio.run(run())
