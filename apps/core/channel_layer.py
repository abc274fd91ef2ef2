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
trips in its event loop; here one round trip takes a batch.

And one reader per process (`receive` of a process-local channel): channels_redis had every
waiting consumer start two tasks per receive (the process's `asyncio.Lock`, its buffer) and
the lock's holder read Redis for all; with 5,000 sockets a burst of deliveries cost a lock
hand-over and two task creations and cancellations per message, and a consumer cancelled
while it held the lock in BZPOPMIN could lose a message popped for another. Here one task
per process and event loop (`_read`) pops batches while any receiver waits on an empty
buffer and puts each message into its channel's buffer; a receiver only awaits its buffer,
and its cancellation (a socket closing) never interrupts a Redis command."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections import defaultdict
from typing import Any

from channels_redis import core
from redis.asyncio import BlockingConnectionPool

logger = logging.getLogger(__name__)


class RedisChannelLayer(core.RedisChannelLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # per process channel key: whether its last batch reached the receive buffers, and
        # the token of the last pop script sent for it (was it run? see _POP_BATCH)
        self._buffered: dict[str, bool] = {}
        self._tokens: dict[str, str] = {}
        self._token_counter = itertools.count()
        # process-local channels whose receiver waits on an empty buffer; their reader
        self._starving: set[str] = set()
        self._reader: asyncio.Task[None] | None = None

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        address = host.pop("address")
        return BlockingConnectionPool.from_url(address, **host)

    # Messages taken from a process's channel key at once (a batch a round trip).
    receive_batch = 100

    async def receive(self, channel: str) -> dict[str, Any]:
        """The next message of a channel. A process-local one ("...!..."): awaits its
        buffer, which the process's reader (`_read`) fills, started here when none runs
        on this loop. As channels_redis: a cancelled receive drops its channel's buffer
        (the consumer is gone), an empty buffer is deleted, one loop receives at a time."""
        if "!" not in channel:
            return await super().receive(channel)  # type: ignore[no-any-return]
        assert self.require_valid_channel_name(channel)
        process_channel = self.non_local_name(channel)
        assert process_channel.endswith(self.client_prefix + "!"), "Wrong client prefix"
        buffer = self.receive_buffer[channel]
        if buffer.empty():
            self._starving.add(channel)
            self._start_reader(process_channel)
            try:
                message: dict[str, Any] = await buffer.get()
            except BaseException:
                self._starving.discard(channel)
                if self.receive_buffer.get(channel) is buffer:
                    del self.receive_buffer[channel]
                raise
        else:
            message = buffer.get_nowait()
        if buffer.empty() and self.receive_buffer.get(channel) is buffer:
            del self.receive_buffer[channel]
        return message

    def _start_reader(self, process_channel: str) -> None:
        loop = asyncio.get_running_loop()
        reader = self._reader
        if reader is not None and not reader.done():
            if reader.get_loop() is loop:
                return
            if reader.get_loop().is_running():
                raise RuntimeError(
                    "Two event loops are trying to receive() on one channel layer at once!")
        self._reader = loop.create_task(self._read(process_channel))

    async def _read(self, process_channel: str) -> None:
        """The process's reader: while a receiver waits on an empty buffer, take a batch
        off the process's key (blocking up to brpop_timeout when none waits) and put each
        message into its channel's buffer, in order, with no await in between. A Redis
        error is logged and retried (backoff up to 1 s): the sockets stay open and get
        their messages once Redis answers again."""
        pause = 0.0
        while self._starving:
            try:
                popped = await self._take(process_channel, block=True)
            except Exception:
                pause = min(1.0, pause * 2 or 0.05)
                logger.warning("channel layer: receive failed, retrying in %.2f s", pause,
                               exc_info=True)
                await asyncio.sleep(pause)
                continue
            pause = 0.0
            for content in popped:
                to, message = self._unpack(content, process_channel)
                for name in to if isinstance(to, list) else [to]:
                    self.receive_buffer[name].put_nowait(message)
                    self._starving.discard(name)

    async def receive_single(self, channel: str) -> tuple[Any, dict[str, Any]]:
        """channels_redis's receive of one message, for a process-local channel ("...!")
        taking up to `receive_batch` waiting messages at once (`_take`): the earlier ones
        go into the buffers here, the last is returned for the caller to buffer after
        them, with no await in between. Other channels: channels_redis's."""
        if not channel.endswith("!"):
            return await super().receive_single(channel)  # type: ignore[no-any-return]
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        popped: list[bytes] = []
        while not popped:
            popped = await self._take(channel, block=True)
        unpacked = [self._unpack(content, channel) for content in popped]
        for to, message in unpacked[:-1]:
            for name in to if isinstance(to, list) else [to]:
                self.receive_buffer[name].put_nowait(message)
        return unpacked[-1]

    async def _take(self, channel: str, *, block: bool) -> list[bytes]:
        """Up to `receive_batch` waiting messages of a process's channel key, oldest first,
        in one script that also deals with the previous batch's backup (dropped once that
        batch was buffered, restored in front when its taker was interrupted) and backs
        this batch up, atomically: a taker interrupted while it waits for the answer loses
        nothing, the next take restores the batch. With nothing waiting and `block`, waits
        on BZPOPMIN up to brpop_timeout as channels_redis does (the message popped then
        goes back in front and through the same script; [] when none came). The caller
        must buffer what it gets before its next await. No cleaner task: channels_redis
        cleaned each message's backup in a task of its own (a failed one redelivered)."""
        key = self.prefix + channel
        connection = self.connection(self.consistent_hash(channel))
        keys = (key, self._backup_channel_name(key), self._backup_channel_name(key) + ":t")
        await self.receive_clean_locks.acquire(key)
        try:
            popped: list[bytes] = await self._pop(connection, keys)
            if not popped and block:
                found = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                if found is not None:
                    _, member, score = found
                    popped = await self._pop(connection, keys, member, score)
            self._buffered[key] = True  # no await from here until the caller buffered it
        finally:
            self.receive_clean_locks.release(key)
        return popped

    async def _pop(self, connection: Any, keys: tuple[str, str, str],
                   *put_back: Any) -> list[bytes]:
        key = keys[0]
        buffered = self._buffered.get(key, True)
        previous = self._tokens.get(key, "")
        token = f"{os.getpid()}:{next(self._token_counter)}"
        self._buffered[key] = False  # until this batch is in the buffers
        self._tokens[key] = token
        return await connection.eval(  # type: ignore[no-any-return]
            _POP_BATCH, 3, *keys, self.receive_batch, int(buffered), previous, token,
            int(self.group_expiry), *put_back)

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


# KEYS: a process's channel key, its backup, the backup's token; ARGV: the batch size, 1
# when the previous batch was buffered, the previous script's token, this one's, the token's
# expiry, then optionally a message and its score that BZPOPMIN took off the key. The
# previous batch's backup is restored (in front, as channels_redis's cleanup script) only
# when its taker was interrupted AND its script ran (the stored token is the previous one):
# a script interrupted before it was sent (waiting for a pool connection) never popped,
# and restoring the batch before it, already buffered, would deliver that one twice.
# Otherwise the backup is dropped. Then puts the message back, pops the batch (oldest
# first) and backs it up; returns its messages. Atomic: whatever was popped stays in the
# backup until the next script knows it was buffered.
_POP_BATCH = """
if ARGV[2] == '0' and redis.call('GET', KEYS[3]) == ARGV[3] then
    local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    for i = #backed_up, 1, -2 do
        redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
    end
end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], ARGV[4], 'EX', tonumber(ARGV[5]))
if ARGV[6] then
    redis.call('ZADD', KEYS[1], ARGV[7], ARGV[6])
end
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[1]))
local members = {}
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
    members[#members + 1] = popped[i]
end
return members
"""
