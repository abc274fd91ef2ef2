"""The presence writes of a process's `ws/messages/` connections (`live.presence_key`), in as
few Redis round trips as there are batches, not one per socket.

Each connection was marked present at connect and then refreshed its own entry every
PRESENCE_REFRESH_SECONDS from a task of its own, one pipeline each: at 5,000 sockets 250
round trips a second in steady state, and in a reconnect storm one per socket at connect and
one per socket at close. Now one writer per event loop (a uvicorn worker has one) does them
all, group-commit style: a write asked for while a batch is on the wire goes in the next
batch, whatever came meanwhile with it (no added wait when idle: the first write of a quiet
moment leaves at once), and every PRESENCE_REFRESH_SECONDS it refreshes every connection of
the process in one batch (chunks of REFRESH_CHUNK connections, one pipeline each).

The batches run one after another, so a connection's writes land in the order asked: its
ZREM at close is never overtaken by a refresh of it (the refresh reads the registry, which
the close left first). A connect still waits for its own entry before saying "ready"
(online people are not pushed: a message right after "ready" must see them).

Best effort as before: skipped while the Redis breaker is open (only read here: a late
event loop must not open it), a deadline per batch, failures logged and swallowed (unknown
presence means notified, not lost)."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

from apps.core import redis_health
from apps.messaging import live

logger = logging.getLogger(__name__)

# presence writes: a hung Redis must not hold a connection long, but a busy Redis must not
# lose the leaving connection's ZREM either (its entry would say "online" until it lapses)
REDIS_DEADLINE = 2.0
REFRESH_CHUNK = 1000  # connections per refresh pipeline (3 commands each)

Command = tuple[str, tuple[Any, ...]]


def _present(user_id: int, channel_name: str, now: float) -> list[Command]:
    key = live.presence_key(user_id)
    return [("zadd", (key, {channel_name: now + live.PRESENCE_TTL_SECONDS})),
            ("zremrangebyscore", (key, 0, now)),  # connections of a worker that died
            ("expire", (key, live.PRESENCE_TTL_SECONDS))]


class Writer:
    """One per event loop: the registry of its live connections and the one writer."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.connections: dict[str, int] = {}  # channel name -> user id
        self.queue: list[tuple[list[Command], asyncio.Future[None]]] = []
        self.wake = asyncio.Event()
        self.batches = 0  # round trips made (pipelines executed), for tests and profiles
        self.task = asyncio.ensure_future(self._run())
        self.refresher = asyncio.ensure_future(self._refresh_loop())

    def ask(self, commands: list[Command]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.append((commands, done))
        self.wake.set()
        return done

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.queue = self.queue, []
            if not batch:
                continue
            commands = [command for commands, _ in batch for command in commands]
            try:
                await self._write_pipeline(commands)
            finally:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _write_pipeline(self, commands: list[Command]) -> None:
        if not commands or redis_health.breaker().state == redis_health.OPEN:
            return
        try:
            pipe = self.layer.connection(0).pipeline(transaction=False)
            for command, args in commands:
                getattr(pipe, command)(*args)
            self.batches += 1
            await asyncio.wait_for(pipe.execute(), REDIS_DEADLINE)
        except Exception as exc:  # noqa: BLE001 - presence is an optimisation
            logger.info("messaging: presence write failed (%s)", exc)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(live.PRESENCE_REFRESH_SECONDS)
            await self.refresh_all()

    async def refresh_all(self) -> None:
        """Every live connection's entry, through the writer (after what was asked before)."""
        now = time.time()
        entries = list(self.connections.items())
        waits = []
        for at in range(0, len(entries), REFRESH_CHUNK):
            commands = [c for channel, user_id in entries[at:at + REFRESH_CHUNK]
                        for c in _present(user_id, channel, now)]
            waits.append(self.ask(commands))
            # one chunk a batch: a connect asked meanwhile is not behind all of them
            await waits[-1]


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Writer] = (
    weakref.WeakKeyDictionary())


def writer(layer: Any) -> Writer:
    loop = asyncio.get_running_loop()
    found = _writers.get(loop)
    if found is None or found.task.done() or found.refresher.done():
        replaced = found
        found = _writers[loop] = Writer(layer)
        if replaced is not None:  # (it failed: a bug) its connections are still open
            replaced.task.cancel()
            replaced.refresher.cancel()
            found.connections.update(replaced.connections)
    return found


async def connected(layer: Any, user_id: int, channel_name: str) -> None:
    """The connection is present (written before this returns) and refreshed from now on."""
    w = writer(layer)
    w.connections[channel_name] = user_id
    await w.ask(_present(user_id, channel_name, time.time()))


async def disconnected(layer: Any, user_id: int, channel_name: str) -> None:
    """Not refreshed any more, and its entry removed (written before this returns)."""
    w = writer(layer)
    w.connections.pop(channel_name, None)
    await w.ask([("zrem", (live.presence_key(user_id), channel_name))])
