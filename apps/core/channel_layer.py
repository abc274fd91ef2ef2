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

import time
from collections import defaultdict
from typing import Any

from channels_redis import core
from redis.asyncio import BlockingConnectionPool


class RedisChannelLayer(core.RedisChannelLayer):  # type: ignore[misc]
    def create_pool(self, index: int) -> BlockingConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        address = host.pop("address")
        return BlockingConnectionPool.from_url(address, **host)

    async def group_send_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """`group_send` of many (group, message) pairs in a few Redis round trips: one
        pipeline reads every group's members, then one script per Redis queues every
        message (group_send takes four round trips per group: 5,000 announcements of a
        new post, one per follower's group, were seconds of round trips). The same steps
        as channels_redis 4.3's group_send (its own helpers map channels to keys and
        serialise); messages keep their order (increasing scores)."""
        by_index: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for group, message in messages:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_index[self.consistent_hash(group)].append((group, message))
        queued: dict[int, list[tuple[str, bytes, int]]] = defaultdict(list)
        for index, pairs in by_index.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for group, _ in pairs:
                key = self._group_key(group)
                pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
                pipe.zrange(key, 0, -1)
            members = (await pipe.execute())[1::2]
            for (_, message), names in zip(pairs, members, strict=True):
                if not names:
                    continue  # nobody connected
                by_connection, serialised, capacity = self._map_channel_keys_to_connection(
                    [name.decode("utf8") for name in names], message)
                for connection_index, keys in by_connection.items():
                    queued[connection_index].extend(
                        (key, serialised[key], capacity[key]) for key in keys)
        for connection_index, entries in queued.items():
            keys = [key for key, _, _ in entries]
            now = time.time()
            await self.connection(connection_index).eval(
                _SEND_MANY, len(keys), *keys, *[m for _, m, _ in entries],
                *[c for _, _, c in entries], *[now + i * 1e-6 for i in range(len(keys))],
                int(self.expiry))


# KEYS: channel keys (repeated for several messages to one process); ARGV: the messages,
# then each key's capacity, then each message's score (its time), then the expiry. Drops
# expired messages and, over capacity, the new one (as group_send does).
_SEND_MANY = """
local n = #KEYS
local expiry = tonumber(ARGV[3 * n + 1])
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, tonumber(ARGV[2 * n + i]) - expiry)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], ARGV[2 * n + i], ARGV[i])
        redis.call('EXPIRE', KEYS[i], ARGV[3 * n + 1])
    end
end
return 0
"""
