"""The process's one presence writer (`apps.messaging.presence`), on the real channel
layer's Redis: connects asked together go out in one round trip, every connection's refresh
in one pipeline (not one per socket), a close's ZREM is never overtaken by a refresh, and an
open breaker skips the writes without waiting."""

from __future__ import annotations

import asyncio

from channels.layers import get_channel_layer

from apps.core import redis_health
from apps.messaging import live, presence
from tests.conftest import open_redis_breaker

USERS = range(910_001, 910_041)  # 40 people who are not in the database (Redis only)


def _score(layer: object, user_id: int, channel: str) -> float | None:
    async def read() -> float | None:
        return await layer.connection(0).zscore(  # type: ignore[attr-defined,no-any-return]
            live.presence_key(user_id), channel)
    return asyncio.run(read())


def test_connects_and_refreshes_go_out_in_batches_and_a_close_is_not_overtaken() -> None:
    layer = get_channel_layer()
    sockets = [(u, f"specific.test!{u}") for u in USERS]

    async def run() -> tuple[int, int]:
        writer = presence.writer(layer)
        first = writer.batches
        # 40 connects at once (a reconnect storm's shape): one or two batches, not 40
        await asyncio.gather(*(presence.connected(layer, u, ch) for u, ch in sockets))
        connects = writer.batches - first
        online = live.online_user_ids  # a sync read, as the send path does
        assert await asyncio.to_thread(online, list(USERS)) == set(USERS)
        before = writer.batches
        await writer.refresh_all()  # every 20 s in a worker
        refreshes = writer.batches - before
        # a close asked while a refresh is on the wire lands after it: the entry is gone
        u, ch = sockets[0]
        refresh = asyncio.ensure_future(writer.refresh_all())
        await asyncio.sleep(0)
        await presence.disconnected(layer, u, ch)
        await refresh
        for u2, ch2 in sockets[1:]:
            await presence.disconnected(layer, u2, ch2)
        return connects, refreshes

    connects, refreshes = asyncio.run(run())
    assert 1 <= connects <= 2
    assert refreshes == 1  # 40 connections, one pipeline
    assert _score(layer, USERS[0], sockets[0][1]) is None
    assert not live.online_user_ids(list(USERS))


def test_the_refresh_moves_every_entrys_expiry() -> None:
    layer = get_channel_layer()
    u, ch = USERS[0], "specific.test!refresh"

    async def run() -> tuple[float | None, float | None]:
        await presence.connected(layer, u, ch)
        first = await layer.connection(0).zscore(live.presence_key(u), ch)
        await asyncio.sleep(0.05)
        await presence.writer(layer).refresh_all()
        again = await layer.connection(0).zscore(live.presence_key(u), ch)
        await presence.disconnected(layer, u, ch)
        return first, again

    first, again = asyncio.run(run())
    assert first is not None
    assert again is not None
    assert again > first


def test_an_open_breaker_skips_the_writes() -> None:
    layer = get_channel_layer()
    u, ch = USERS[1], "specific.test!breaker"
    open_redis_breaker()
    try:
        async def run() -> int:
            writer = presence.writer(layer)
            before = writer.batches
            await presence.connected(layer, u, ch)
            return writer.batches - before
        assert asyncio.run(run()) == 0
    finally:
        redis_health.reset_all()
    assert _score(layer, u, ch) is None
