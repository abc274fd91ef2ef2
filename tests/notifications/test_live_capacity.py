"""A server process's websocket channels share one Redis key in the channel layer: a burst
of announcements to many of its connections (a new post told to thousands of connected
followers) must all wait there for the process to read them, not be dropped past channels'
default capacity of 100 (bench/notifications.py, ws part: most were lost at 5,000)."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer

from apps.notifications import live

pytestmark = pytest.mark.django_db(transaction=True)

CONNECTIONS = 300


def test_a_burst_to_many_connections_of_one_process_is_not_dropped():
    async def burst() -> set[str]:
        layer = get_channel_layer()
        channels = [await layer.new_channel() for _ in range(CONNECTIONS)]
        groups = [live.user_group(10**15 + i) for i in range(CONNECTIONS)]
        for group, channel in zip(groups, channels, strict=True):
            await layer.group_add(group, channel)
        try:
            for i, group in enumerate(groups):  # nobody reads while they are sent
                await layer.group_send(group, {"type": "notification.new", "id": str(i),
                                               "seq": 1})
            got = set()
            for channel in channels:
                message = await asyncio.wait_for(layer.receive(channel), 5)
                got.add(message["id"])
            return got
        finally:
            for group, channel in zip(groups, channels, strict=True):
                await layer.group_discard(group, channel)

    assert asyncio.run(burst()) == {str(i) for i in range(CONNECTIONS)}
