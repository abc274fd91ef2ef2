"""The channel layer (settings.CHANNEL_LAYERS): channels_redis's, with a connection pool
that waits for a free connection.

channels_redis builds redis-py's asyncio `ConnectionPool`, which does not wait: past its
`max_connections` a command raises MaxConnectionsError. Every consumer that group_sends
(the ping echo, media progress) and every concurrent announcement holds a connection while
its command waits, so a burst from thousands of connections of one process failed
(bench/notifications.py: 4,001 of a 5,000-socket echo lost with a pool of 1,000; Redis'
own maxclients, 2,000 here, bounds a bigger pool anyway). A `BlockingConnectionPool` of
the same size queues the burst instead, up to its `timeout` (CHANNEL_LAYER_HOST).

A process's receive pops its waiting messages in batches (`receive_single`): channels_redis
pops one message per four round trips (restore the backup, BZPOPMIN, back it up, clean the
backup), serially, so a burst of 500 deliveries to one server process cost ~2,000 round
trips in its event loop; here one round trip takes a batch."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from channels_redis import core
from redis.asyncio import BlockingConnectionPool


class RedisChannelLayer(core.RedisChannelLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # per process channel key: whether its last batch reached the receive buffers
        self._buffered: dict[str, bool] = {}

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        address = host.pop("address")
        return BlockingConnectionPool.from_url(address, **host)

    # Messages taken from a process's channel key at once (a batch a round trip).
    receive_batch = 100

    async def receive_single(self, channel: str) -> tuple[Any, dict[str, Any]]:
        """channels_redis's receive of one message, for a process-local channel ("...!")
        taking up to `receive_batch` waiting messages at once, in one script: it deals with
        the previous batch's backup (dropped once that batch was buffered, restored in
        front when its receive was cancelled before), pops the batch and backs it up,
        atomically: a receiver cancelled while it waits for the answer loses nothing, the
        next receive restores the batch. With nothing waiting it blocks on BZPOPMIN as
        channels_redis does (the message popped then goes through the same script).
        Messages keep their order: the earlier ones go into the buffers here, the last is
        returned for `receive` to buffer after them, with no await in between. No cleaner
        task: channels_redis's cleaned each message's backup in a task of its own (a
        failed one redelivered the message). Other channels: channels_redis's."""
        if not channel.endswith("!"):
            return await super().receive_single(channel)  # type: ignore[no-any-return]
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        key = self.prefix + channel
        connection = self.connection(self.consistent_hash(channel))
        keys = (key, self._backup_channel_name(key))
        await self.receive_clean_locks.acquire(key)
        try:
            buffered = self._buffered.get(key, True)
            self._buffered[key] = False  # until this batch is in the buffers
            popped: list[bytes] = await connection.eval(
                _POP_BATCH, 2, *keys, self.receive_batch, int(buffered))
            while not popped:
                # nothing waiting: block as channels_redis does; the message popped goes
                # back in front and through the script (backup, and whatever came after)
                found = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                if found is not None:
                    _, member, score = found
                    popped = await connection.eval(_POP_BATCH, 2, *keys, self.receive_batch,
                                                   1, member, score)
            self._buffered[key] = True  # no await from here on: the batch is buffered
        finally:
            self.receive_clean_locks.release(key)
        unpacked = [self._unpack(content, channel) for content in popped]
        for to, message in unpacked[:-1]:
            for name in to if isinstance(to, list) else [to]:
                self.receive_buffer[name].put_nowait(message)
        return unpacked[-1]

    def _unpack(self, content: bytes, channel: str) -> tuple[Any, dict[str, Any]]:
        """(its channel or channels, the message), as channels_redis's receive_single."""
        message: dict[str, Any] = self.deserialize(content)
        return message.pop("__asgi_channel__", channel), message

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


# KEYS: a process's channel key, its backup; ARGV: the batch size, 1 when the previous
# batch was buffered (else its receive was cancelled), then optionally a message and its
# score that BZPOPMIN took off the key. Drops the previous batch's backup, or restores it
# (in front, as channels_redis's cleanup script), puts the message back, pops the batch
# (oldest first) and backs it up; returns its messages. Atomic: whatever was popped stays
# in the backup until the next receive knows it was buffered.
_POP_BATCH = """
if ARGV[2] == '0' then
    local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    for i = #backed_up, 1, -2 do
        redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
    end
end
redis.call('DEL', KEYS[2])
if ARGV[3] then
    redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
end
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[1]))
local members = {}
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
    members[#members + 1] = popped[i]
end
return members
"""
