"""apps.core.channel_layer: channels_redis's layer on the real Redis, with a pool that
waits for a free connection and `group_send_many` (a batch of group_sends in a few round
trips) delivering exactly what one group_send per pair delivers, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from channels.layers import get_channel_layer

from apps.core.channel_layer import RedisChannelLayer

T = TypeVar("T")


def _in_own_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: an earlier test (Playwright's sync API) may
    leave an event loop running in this one, where neither asyncio.run nor async_to_sync
    may run."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_group_send_many_delivers_each_message_to_its_groups_members_in_order() -> None:
    async def run() -> dict[str, list[Any]]:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        channels = {name: await layer.new_channel() for name in ("a", "b", "c", "idle")}
        groups = {"g1": ["a", "b"], "g2": ["c"], "g3": []}
        for group, members in groups.items():
            for name in members:
                await layer.group_add(f"h3test.{group}", channels[name])
        try:
            await layer.group_send_many([
                (f"h3test.{group}", {"type": "t.m", "n": n})
                for n, group in enumerate(["g1", "g2", "g1", "g3", "g1"])])
            got: dict[str, list[Any]] = {}
            for name, count in (("a", 3), ("b", 3), ("c", 1)):
                got[name] = [(await asyncio.wait_for(layer.receive(channels[name]), 5))["n"]
                             for _ in range(count)]
            for name in ("a", "c", "idle"):  # nothing more, nothing for the idle channel
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(layer.receive(channels[name]), 0.3)
            return got
        finally:
            for group, members in groups.items():
                for name in members:
                    await layer.group_discard(f"h3test.{group}", channels[name])

    assert _in_own_thread(run()) == {"a": [0, 2, 4], "b": [0, 2, 4], "c": [1]}


def test_group_send_many_of_a_thousand_groups() -> None:
    count = 1000

    async def run() -> set[int]:
        layer = get_channel_layer()
        channels = [await layer.new_channel() for _ in range(count)]
        for i, channel in enumerate(channels):
            await layer.group_add(f"h3many.{i}", channel)
        try:
            await layer.group_send_many([(f"h3many.{i}", {"type": "t.m", "n": i})
                                         for i in range(count)])
            return {(await asyncio.wait_for(layer.receive(c), 5))["n"] for c in channels}
        finally:
            for i, channel in enumerate(channels):
                await layer.group_discard(f"h3many.{i}", channel)

    assert _in_own_thread(run()) == set(range(count))


def _process_key(layer: RedisChannelLayer, channel: str) -> str:
    """The Redis key all of a process's channels share (channels_redis)."""
    return str(layer.prefix + layer.non_local_name(channel))


def test_a_burst_is_taken_in_batches_and_received_in_order_per_channel() -> None:
    """300 messages to three channels of one process: the first receive takes a batch off
    the process's key at once (channels_redis took one message per four round trips),
    and every channel gets all of its messages, in the order sent."""
    per_channel = 100

    async def run() -> tuple[int, dict[int, list[int]]]:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        channels = [await layer.new_channel() for _ in range(3)]
        for n in range(per_channel):
            for i, channel in enumerate(channels):
                await layer.send(channel, {"type": "t.m", "n": n, "i": i})
        key = _process_key(layer, channels[0])
        first = await asyncio.wait_for(layer.receive(channels[0]), 5)
        left_after_first = int(await layer.connection(0).zcard(key))

        async def drain(i: int) -> list[int]:
            got = [first["n"]] if i == 0 else []
            while len(got) < per_channel:
                got.append((await asyncio.wait_for(layer.receive(channels[i]), 5))["n"])
            return got

        drained = await asyncio.gather(*(drain(i) for i in range(3)))
        assert await layer.connection(0).zcard(key) == 0
        # the next receive drops the buffered batches' backup: nothing comes twice
        await layer.send(channels[0], {"type": "t.m", "n": "next", "i": 0})
        assert (await asyncio.wait_for(layer.receive(channels[0]), 5))["n"] == "next"
        for channel in channels:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(layer.receive(channel), 0.3)
        return left_after_first, dict(enumerate(drained))

    left, got = _in_own_thread(run())
    assert left <= 3 * per_channel - RedisChannelLayer.receive_batch
    assert got == {i: list(range(per_channel)) for i in range(3)}


def test_nothing_is_lost_when_the_receiver_taking_a_batch_is_cancelled() -> None:
    """Two consumers of one process; the one that happens to be taking a batch off Redis
    (or buffering it) is cancelled at every point in turn, as when its socket closes:
    the other still gets every one of its messages, in order (an interrupted batch stays
    in the backup until the next receive restores it)."""

    async def run() -> list[list[int]]:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        outcomes = []
        for steps in range(12):
            gone, kept = await layer.new_channel(), await layer.new_channel()
            for n in range(150):
                await layer.send(gone, {"type": "t.m", "n": n})
                await layer.send(kept, {"type": "t.m", "n": n})
            doomed = asyncio.ensure_future(layer.receive(gone))
            got: list[int] = []
            keeper = asyncio.ensure_future(layer.receive(kept))
            for _ in range(steps):
                await asyncio.sleep(0)
            doomed.cancel()
            got.append((await asyncio.wait_for(keeper, 5))["n"])
            while len(got) < 150:
                got.append((await asyncio.wait_for(layer.receive(kept), 5))["n"])
            with contextlib.suppress(asyncio.CancelledError):
                await doomed
            outcomes.append(got)
            await layer.flush()  # the cancelled consumer's leftovers
        return outcomes

    assert _in_own_thread(run()) == [list(range(150))] * 12


def test_a_receive_cancelled_while_waiting_on_an_empty_channel_loses_nothing_after() -> None:
    async def run() -> list[int]:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        channel = await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.2)  # blocked on BZPOPMIN
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        for n in range(3):
            await layer.send(channel, {"type": "t.m", "n": n})
        return [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(3)]

    assert _in_own_thread(run()) == [0, 1, 2]


def test_group_send_many_bursts_arrive_whole_and_in_order_through_batched_receives() -> None:
    count, rounds = 200, 3

    async def run() -> dict[int, list[int]]:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        channels = [await layer.new_channel() for _ in range(count)]
        for i, channel in enumerate(channels):
            await layer.group_add(f"h6burst.{i}", channel)
        try:
            for r in range(rounds):
                await layer.group_send_many([(f"h6burst.{i}", {"type": "t.m", "r": r})
                                             for i in range(count)])

            async def drain(channel: str) -> list[int]:
                return [(await asyncio.wait_for(layer.receive(channel), 5))["r"]
                        for _ in range(rounds)]

            return dict(enumerate(await asyncio.gather(*(drain(c) for c in channels))))
        finally:
            for i, channel in enumerate(channels):
                await layer.group_discard(f"h6burst.{i}", channel)

    assert _in_own_thread(run()) == {i: list(range(rounds)) for i in range(count)}


def test_one_reader_serves_many_waiting_receivers_and_cancelled_ones_take_nothing() -> None:
    """300 receivers of one process wait at once (as 300 sockets' consumers); every
    other one is cancelled while the burst is being taken (sockets closing): the others
    each get their three messages, in order, once; one reader task served them all."""
    count, rounds = 300, 3

    async def run() -> tuple[dict[int, list[int]], int]:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        channels = list(await asyncio.gather(*(layer.new_channel() for _ in range(count))))
        readers: set[int] = set()

        async def consume(i: int) -> list[int]:
            got = []
            for _ in range(rounds):
                got.append((await layer.receive(channels[i]))["r"])
                assert layer._reader is not None
                readers.add(id(layer._reader))
            return got

        tasks = [asyncio.ensure_future(consume(i)) for i in range(count)]
        await asyncio.sleep(0.2)  # all waiting on empty buffers
        for r in range(rounds):
            await asyncio.gather(*(layer.send(channel, {"type": "t.m", "r": r})
                                   for channel in channels))
            if r == 0:
                for task in tasks[1::2]:
                    task.cancel()
        kept = await asyncio.wait_for(asyncio.gather(*tasks[0::2]), 20)
        for task in tasks[1::2]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        extra = await asyncio.gather(  # nothing more came
            *(asyncio.wait_for(layer.receive(channel), 0.3) for channel in channels[0::2]),
            return_exceptions=True)
        assert all(isinstance(e, TimeoutError) for e in extra)
        await layer.flush()
        return dict(enumerate(kept)), len(readers)

    got, readers = _in_own_thread(run())
    assert got == {i: list(range(rounds)) for i in range(count // 2)}
    assert readers == 1


def test_an_interrupted_take_whose_script_never_ran_does_not_redeliver_the_batch_before() -> None:
    """A take interrupted before its script reached Redis (waiting for a pool connection)
    popped nothing; the next take must drop the backup of the batch before it, which was
    buffered, not restore it (that delivered a whole batch twice)."""

    async def run() -> list[int]:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        channel = await layer.new_channel()
        for n in range(3):
            await layer.send(channel, {"type": "t.m", "n": n})
        got = [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(3)]
        key = _process_key(layer, channel)
        # what _pop records before its eval, for an eval that then never went out
        layer._buffered[key] = False
        layer._tokens[key] = "never-sent"
        await layer.send(channel, {"type": "t.m", "n": 3})
        got.append((await asyncio.wait_for(layer.receive(channel), 5))["n"])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)
        return got

    assert _in_own_thread(run()) == [0, 1, 2, 3]


def test_a_take_that_ran_but_whose_answer_was_lost_is_restored() -> None:
    """The other case: the script ran (the batch was popped and backed up) but its taker
    never buffered the answer: the next take restores the batch, nothing is lost."""

    async def run() -> list[int]:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        channel = await layer.new_channel()
        key = _process_key(layer, channel)
        for n in range(3):
            await layer.send(channel, {"type": "t.m", "n": n})
        popped = await layer._take(layer.non_local_name(channel), block=False)
        assert len(popped) == 3
        layer._buffered[key] = False  # the answer never reached the buffers
        return [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(3)]

    assert _in_own_thread(run()) == [0, 1, 2]


def test_the_reader_survives_its_connections_being_closed() -> None:
    """The reader blocked in BZPOPMIN loses its connection (the pools closed under it, as
    on a Redis restart): it retries, and the waiting receiver gets the message sent after."""

    async def run() -> int:
        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer)
        channel = await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.2)
        await layer.close_pools()
        await asyncio.sleep(0.2)
        await layer.send(channel, {"type": "t.m", "n": 7})
        return int((await asyncio.wait_for(waiting, 10))["n"])

    assert _in_own_thread(run()) == 7
