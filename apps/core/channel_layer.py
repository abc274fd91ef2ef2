"""The channel layer (settings.CHANNEL_LAYERS): channels_redis's, with a connection pool
that waits for a free connection.

channels_redis builds redis-py's asyncio `ConnectionPool`, which does not wait: past its
`max_connections` a command raises MaxConnectionsError. Every consumer that group_sends
(the ping echo, media progress) and every concurrent announcement holds a connection while
its command waits, so a burst from thousands of connections of one process failed
(bench/notifications.py: 4,001 of a 5,000-socket echo lost with a pool of 1,000; Redis'
own maxclients, 2,000 here, bounds a bigger pool anyway). A `BlockingConnectionPool` of
the same size queues the burst instead, up to its `timeout` (CHANNEL_LAYER_HOST)."""

from __future__ import annotations

from typing import Any

from channels_redis import core
from redis.asyncio import BlockingConnectionPool


class RedisChannelLayer(core.RedisChannelLayer):  # type: ignore[misc]
    def create_pool(self, index: int) -> BlockingConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        address = host.pop("address")
        return BlockingConnectionPool.from_url(address, **host)
