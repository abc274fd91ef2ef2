"""A live's connections in one server process (`Room`): the relay, the 100 ms windows, the
viewers' hidden authors, presence and the tick. The websocket itself is `consumer.py`.

A process keeps ONE `Room` per live it has connections for. The room's relay
channel is the process's single member of the live's group, so a chat message costs the
channel layer one delivery per process (not per viewer). The room batches what it is told
into WINDOW_SECONDS windows (`Room._flush_loop`): every frame for everyone said in a
window goes to each connection as ONE `{"type": "batch", "frames": [...]}` frame (a
window with one frame sends it as it is), its text built once for the room (once more per
distinct set of the window's authors a viewer hides), so 2,000 viewers at 50 messages/s
cost 20,000 socket writes a second instead of 100,000. Within a window, in order:
- a message deleted (or whose author was banned) before its window went out is dropped
  from it, never shown; one already shown is withdrawn by the `deleted` / `user_removed`
  frame, which the client applies;
- the viewer's hidden authors (people they blocked or who blocked them) are left out of
  that viewer's batch. They are read at connect and kept current for the open socket:
  before each window goes out, the room reads the standing's per-user version key
  (`standing.user_key`, bumped after a block or unblock commits, either side) of each of
  the window's authors, and for an author whose key changed (or who is new to the room)
  reads who blocked them or whom they blocked, one query, and updates its connections;
  while Redis is away it reads them every window;
- a frame for one person (`live.user`: muted, banned) or the end goes out after the
  window's frames before it, never overtaking them.
The tick (viewers, likes, joins) is not batched (it is droppable and says it all again).

The room also refreshes its connections' presence, and one process's room per
live (a Redis lease) runs the tick: it drains the likes and joins counted since, counts
the viewers, integrates watch time and the peak, and every STATS_EVERY seconds writes

A socket's hidden authors are read at its connect (`own_blocks`: the viewer's version token
first, then their blocks) and the socket joins the room after; a block committed in between
whose author the room re-read before the join would be missed (the room keeps that
author's new token and reads them no more). So after joining, `Room.admit` reads the
viewer's token again: a block or unblock bumps both people's keys in one MSET, so a token
changed since connect means one may have been missed, and the room forgets the tokens it
kept (each author of a later window is read again, and applied to every connection,
this one included). Unchanged: nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from channels.db import DatabaseSyncToAsync, database_sync_to_async

from apps.core import redis_health
from apps.live.chat import broadcast, presence, services, standing
from apps.live.chat.outbox import Outbox
from apps.social.selectors import blocked_user_ids

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
JOINS_EVERY = 3  # ticks between two "joined" summaries
STATS_EVERY = 10.0
LEASE_MS = 3000
REDIS_DEADLINE = 2.0
WINDOW_SECONDS = 0.1  # a frame for everyone waits at most this long to share a write
BATCH_BYTES = 512 * 1024  # a window with more is split (clients cap a frame, 1 MiB)
# a lease taken or renewed by its holder only (one round trip)
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


async def redis_commands(layer: Any, *commands: tuple[str, tuple[Any, ...]]) -> list[Any] | None:
    """Commands in one round trip on the channel layer's Redis, behind the breaker and a
    deadline (presence and counts are best effort)."""
    try:
        with redis_health.breaker().guard():
            pipe = layer.connection(0).pipeline(transaction=False)
            for command, args in commands:
                getattr(pipe, command)(*args)
            result: list[Any] = await asyncio.wait_for(pipe.execute(), REDIS_DEADLINE)
            return result
    except Exception as exc:  # noqa: BLE001 - presence is best effort
        logger.info("live chat: Redis write failed (%s)", exc)
        return None


class Connection(Protocol):
    """What the room needs of a socket (`consumer.Connection`)."""

    channel_name: str
    channel_layer: Any
    user_id: int | None
    hidden_authors: set[int]
    outbox: Outbox
    room: Room | None

    def push(self, text: str, *, droppable: bool = False, count: int = 1) -> None: ...

    def close_after(self, code: int) -> None: ...


@dataclass(slots=True)
class _Said:
    """One event the room was told, waiting for its window."""

    kind: str  # live.event / live.user / live.end / answer (one connection's)
    text: str  # the frame, serialised once
    event: dict[str, Any]
    author: int | None = None
    message: str | None = None  # a chat message's id (a deletion in the window drops it)
    member: Connection | None = None  # an answer's connection


class Room:
    """One live's connections in this process (see the module's docstring)."""

    rooms: ClassVar[dict[int, Room]] = {}
    ticking: ClassVar[bool] = True  # presence and the live's tick (the bench's echo: none)

    def __init__(self, live_id: int, layer: Any) -> None:
        self.live_id = live_id
        self.layer = layer
        self.members: dict[str, Connection] = {}
        self.relay = ""
        self.tasks: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()
        self.pending: list[_Said] = []  # the window's events, in order
        self._said = asyncio.Event()
        # author -> their block version token when the room last read their blocks
        self.block_versions: dict[int, str | None] = {}

    @classmethod
    async def join(cls, live_id: int, consumer: Connection) -> Room:
        room = cls.rooms.get(live_id)
        if room is None:
            room = cls.rooms[live_id] = cls(live_id, consumer.channel_layer)
            room.members[consumer.channel_name] = consumer
            await room._start()
        else:
            room.members[consumer.channel_name] = consumer
            await room.started.wait()
        return room

    async def leave(self, consumer: Connection) -> None:
        self.members.pop(consumer.channel_name, None)
        if self.members or Room.rooms.get(self.live_id) is not self:
            return
        del Room.rooms[self.live_id]
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.layer.group_discard(broadcast.room_group(self.live_id), self.relay)

    async def _start(self) -> None:
        # the default prefix: a process's channels must share one key (channels_redis's
        # receive pops one process key at a time, under one lock)
        self.relay = await self.layer.new_channel()
        await self.layer.group_add(broadcast.room_group(self.live_id), self.relay)
        self.tasks = [
            asyncio.create_task(self._relay_loop()),
            asyncio.create_task(self._flush_loop()),
        ]
        if self.ticking:
            self.tasks.append(asyncio.create_task(self._tick_loop()))
        self.started.set()

    # --- the relay and the windows ---------------------------------------------------------

    async def _relay_loop(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.relay)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.info("live chat: relay receive failed", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            self.dispatch(event)

    def dispatch(self, event: dict[str, Any]) -> None:
        """Queue an event for the window (the tick goes out at once). Never waits: handing a
        frame to a connection is `outbox.put` (one viewer who stops reading must not hold
        up the room)."""
        kind = str(event.get("type"))
        frame = event.get("frame") or {}
        text = json.dumps(frame)
        if kind == "live.event":
            what = frame.get("type")
            if what == "tick":
                for member in list(self.members.values()):
                    member.push(text, droppable=True)
                return
            if what == "deleted" and self._withdraw(
                lambda said: said.message == str(frame.get("message"))
            ):
                return  # nobody saw it: nothing to withdraw
            if what == "user_removed":
                with contextlib.suppress(TypeError, ValueError):
                    banned = int(frame.get("user") or "")
                    self._withdraw(lambda said: said.author == banned and said.message is not None)
            author = event.get("author")
            message = (frame.get("message") or {}).get("id") if what == "message" else None
            said = _Said(
                kind,
                text,
                event,
                author=int(author) if author is not None else None,
                message=str(message) if message is not None else None,
            )
        elif kind in ("live.user", "live.end"):
            said = _Said(kind, text, event)
        else:
            return
        self.pending.append(said)
        self._said.set()

    def answer(self, member: Connection, text: str) -> None:
        """A frame for one connection after everything the room was told before it (a
        `pong` after the window in progress: a client's ping is a barrier)."""
        self.pending.append(_Said("answer", text, {}, member=member))
        self._said.set()

    def _withdraw(self, which: Callable[[_Said], bool]) -> bool:
        """Drop the window's chat messages `which` picks (not sent yet); whether any was."""
        kept = [said for said in self.pending if said.kind != "live.event" or not which(said)]
        dropped = len(kept) != len(self.pending)
        self.pending = kept
        return dropped

    async def _flush_loop(self) -> None:
        while True:
            await self._said.wait()
            await asyncio.sleep(WINDOW_SECONDS)
            self._said.clear()
            window, self.pending = self.pending, []
            if not window:
                continue
            try:
                await self._refresh_hidden(
                    {said.author for said in window if said.author is not None}
                )
            except asyncio.CancelledError:
                raise
            except Exception:  # the window still goes out, with the blocks known so far
                logger.warning("live chat: blocks of the window's authors not read", exc_info=True)
            self.deliver(window)

    async def _refresh_hidden(self, authors: set[int]) -> None:
        """Bring the connections' hidden authors up to date for the window's authors whose
        block version changed since the room last read their blocks (see the module)."""
        if not authors or not any(m.user_id is not None for m in self.members.values()):
            return
        self.apply_blocks(*await _read_blocks(sorted(authors), dict(self.block_versions)))

    def apply_blocks(
        self, versions: dict[int, str | None] | None, blocks: dict[int, set[int]]
    ) -> None:
        """What `_read_blocks_sync` read, kept (the tokens) and applied to every connection."""
        for author, blocked in blocks.items():
            if versions is not None:
                self.block_versions[author] = versions[author]
            for member in self.members.values():
                if member.user_id is None:
                    continue
                if member.user_id in blocked:
                    member.hidden_authors.add(author)
                else:
                    member.hidden_authors.discard(author)

    async def admit(self, member: Connection, seen: dict[int, str | None] | None) -> None:
        """After `join`: if the member's block token moved since their connect read their
        blocks (`own_blocks`), a block or unblock committed meanwhile, and the room may
        already hold the other person's new token: it forgets the tokens it kept, so each
        author of a later window is read again and applied to every connection, this one
        included (see the module). Unchanged (nearly always): nothing to do."""
        if member.user_id is None:
            return
        now = await _read_versions([member.user_id])
        if seen is None or now is None or now != seen:
            self.block_versions.clear()

    def deliver(self, window: list[_Said]) -> None:
        """The window's events to the connections, in order: each run of frames for
        everyone as one batch per connection, then a person's frame or the end."""
        run: list[_Said] = []
        for said in window:
            if said.kind == "live.event":
                run.append(said)
                continue
            self._fan_out(run)
            run = []
            if said.kind == "live.user":
                user_id = int(said.event["user"])
                for member in [m for m in self.members.values() if m.user_id == user_id]:
                    member.push(said.text)
                    if said.event.get("close"):
                        member.close_after(broadcast.CLOSE_BANNED)
            elif said.kind == "answer":
                if said.member is not None and said.member.room is self:
                    said.member.push(said.text)
            else:  # live.end
                for member in list(self.members.values()):
                    member.push(said.text)
                    member.close_after(broadcast.CLOSE_ENDED)
        self._fan_out(run)

    def _fan_out(self, run: list[_Said]) -> None:
        if not run:
            return
        authors = {said.author for said in run if said.author is not None}
        built: dict[frozenset[int], list[tuple[str, int]]] = {}
        for member in list(self.members.values()):
            hidden = (
                frozenset(authors & member.hidden_authors)
                if authors and member.hidden_authors
                else _NOBODY
            )
            texts = built.get(hidden)
            if texts is None:
                texts = built[hidden] = batches(
                    [said.text for said in run if said.author not in hidden]
                )
            for text, count in texts:
                member.push(text, count=count)

    # --- presence and the tick -------------------------------------------------------------

    async def _tick_loop(self) -> None:
        last = time.monotonic()
        refreshed = last
        flushed = last
        ticks = 0
        while True:
            await asyncio.sleep(TICK_SECONDS)
            for member in list(self.members.values()):
                member.outbox.check()  # a socket stalled past the limit is closed
            now = time.monotonic()
            if now - refreshed >= presence.PRESENCE_REFRESH_SECONDS and self.members:
                refreshed = now
                expiry = time.time() + presence.PRESENCE_TTL_SECONDS
                await redis_commands(
                    self.layer,
                    (
                        "zadd",
                        (
                            presence.key(self.live_id, "viewers"),
                            dict.fromkeys(self.members, expiry),
                        ),
                    ),
                )
            leader = await redis_commands(
                self.layer,
                ("eval", (_LEASE, 1, presence.key(self.live_id, "ticker"), self.relay, LEASE_MS)),
            )
            if not leader or not leader[0]:
                last = now
                continue
            ticks += 1
            try:
                await self._tick(now - last, joins=ticks % JOINS_EVERY == 0)
            except Exception:
                logger.info("live chat: tick failed", exc_info=True)
            last = now
            if now - flushed >= STATS_EVERY:
                flushed = now
                try:
                    await database_sync_to_async(services.stats_record)(self.live_id)
                except Exception:
                    logger.warning(
                        "live chat: stats of %s not written", self.live_id, exc_info=True
                    )

    async def _tick(self, elapsed: float, *, joins: bool) -> None:
        k = self.live_id
        commands: list[tuple[str, tuple[Any, ...]]] = [
            ("zremrangebyscore", (presence.key(k, "viewers"), 0, time.time())),
            ("zcard", (presence.key(k, "viewers"),)),
            ("getdel", (presence.key(k, "likes:new"),)),
            ("hget", (presence.key(k, "stats"), "likes")),
            ("hget", (presence.key(k, "stats"), "peak")),
        ]
        if joins:
            commands += [
                ("lrange", (presence.key(k, "joins"), 0, presence.JOIN_NAMES - 1)),
                ("getdel", (presence.key(k, "joins:n"),)),
                ("delete", (presence.key(k, "joins"),)),
            ]
        found = await redis_commands(self.layer, *commands)
        if found is None:
            return
        viewers, new_likes, likes, peak = int(found[1]), int(found[2] or 0), found[3], found[4]
        stats = presence.key(k, "stats")
        writes: list[tuple[str, tuple[Any, ...]]] = [
            ("hincrbyfloat", (stats, "watch", round(viewers * elapsed, 3))),
            ("expire", (stats, presence.KEY_TTL_SECONDS)),
        ]
        if viewers > int(float(peak or 0)):
            writes.append(("hset", (stats, "peak", viewers)))
        await redis_commands(self.layer, *writes)
        frame: dict[str, Any] = {
            "type": "tick",
            "viewers": viewers,
            "likes": int(float(likes or 0)),
            "likes_new": new_likes,
        }
        if joins:
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in found[5]]
            joined = int(found[6] or 0)
            if joined:
                frame["joined"] = {"names": names, "others": max(0, joined - len(names))}
        await self.layer.group_send(broadcast.room_group(k), {"type": "live.event", "frame": frame})


_NOBODY: frozenset[int] = frozenset()


def batch_text(texts: list[str]) -> tuple[str, int]:
    """Serialised frames as one frame's text, and how many it carries: one as it is,
    several as `{"type": "batch", "frames": [...]}` (joined, not encoded again)."""
    if len(texts) == 1:
        return texts[0], 1
    return '{"type": "batch", "frames": [' + ", ".join(texts) + "]}", len(texts)


def batches(texts: list[str]) -> list[tuple[str, int]]:
    """The window's frames as few frames as BATCH_BYTES allows, in order."""
    out: list[tuple[str, int]] = []
    group: list[str] = []
    size = 0
    for text in texts:
        if group and size + len(text) > BATCH_BYTES:
            out.append(batch_text(group))
            group, size = [], 0
        group.append(text)
        size += len(text)
    if group:
        out.append(batch_text(group))
    return out


def _read_blocks_sync(
    authors: list[int], known: dict[int, str | None]
) -> tuple[dict[int, str | None] | None, dict[int, set[int]]]:
    """(the authors' block version tokens, or None while Redis is away; for each author
    whose token changed or is unknown, everyone they blocked or who blocked them)."""
    versions = standing.user_versions(authors)
    changed = [a for a in authors if versions is None or a not in known or known[a] != versions[a]]
    return versions, {author: blocked_user_ids(author) for author in changed}


def own_blocks(user_id: int) -> tuple[dict[int, str | None] | None, set[int]]:
    """A connecting viewer's block token (None while Redis is away), read BEFORE their
    blocks (everyone they blocked or who blocked them): `Room.admit` compares it after the
    join."""
    seen = standing.user_versions([user_id])
    return seen, blocked_user_ids(user_id)


# the rooms' reads before a window goes out: a pool of their own, never queued behind posts
_ROOM_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-room")
_read_blocks: Callable[..., Awaitable[Any]] = DatabaseSyncToAsync(
    _read_blocks_sync, thread_sensitive=False, executor=_ROOM_POOL
)

_read_versions: Callable[..., Awaitable[dict[int, str | None] | None]] = DatabaseSyncToAsync(
    standing.user_versions, thread_sensitive=False, executor=_ROOM_POOL
)
