"""apps.core.channel_layer: channels_redis's layer on the real Redis, with a pool that
waits for a free connection and `group_send_many` (a batch of group_sends in a few round
trips) delivering exactly what one group_send per pair delivers, in order."""

from __future__ import annotations

import asyncio
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
