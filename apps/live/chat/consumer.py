"""The live chat websocket, `ws/live/<id>/`: one per viewer of a live.

Connect: authenticated like `ws/messages/` (session cookie or `X-Session-Token`); signed-out
viewers may watch a live that `live.selectors.live_for` shows them (read-only chat). Refused
with a JSON `error` then a close code: 4403 deactivated, 4404 a live they may not see (or
none), 4000 an ended live. Then `{"type": "ready", ...selectors.chat_state}` (settings,
pinned message, the last 50 messages, counts, their own standing).

Client frames: `{"type": "send", "text", "client_id"?}` (answered `ack` {"client_id",
"message", "hidden", "notice"}: a hidden message's author reads why in `notice`; or `error`
{"code", "message", "fields", "client_id"}), `{"type": "like", "count"}` (taps since the
last one), `{"type": "ping"}` (`pong`).

Server frames: `message`, `deleted` {"message": id}, `pinned` {"message": payload|null},
`settings`, `gift`, `user_removed`, `tick` (about every second: `viewers`, `likes` (total),
`likes_new`, and every few seconds `joined` {"names", "others"}: "maya and 12 others
joined"), for one person `muted` / `unmuted` / `banned` (then closed 4403), and `ended`
(then closed 4000). A connection that reads too slowly gets `missed` {"count", "message"}
for the chat frames it lost, or is closed 4008 (reconnect) when it reads nothing for long
(`outbox`: the room never waits for one socket).

Fan-out: a process keeps ONE `Room` per live it has connections for. The room's relay
channel is the process's single member of the live's group, so a chat message costs the
channel layer one delivery per process (not per viewer); the room serialises the frame
once and writes it to each local connection (skipping those blocked either way with its
author). The room also refreshes its connections' presence, and one process's room per
live (a Redis lease) runs the tick: it drains the likes and joins counted since, counts
the viewers, integrates watch time and the peak, and every STATS_EVERY seconds writes
them on the live (`services.stats_record`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AnonymousUser

from apps.accounts.models import User
from apps.core import redis_health
from apps.core.consumers import MalformedFrameMixin, NoPerMessageDbCloseMixin
from apps.core.errors import ApplicationError
from apps.live.chat import broadcast, presence, selectors, services
from apps.live.chat.outbox import Outbox
from apps.live.models import LiveStream
from apps.live.selectors import LIVE_NOT_FOUND, live_for
from apps.notifications.consumers import authenticate_socket
from apps.social.selectors import blocked_user_ids

logger = logging.getLogger(__name__)

CLOSE_DEACTIVATED = 4403
CLOSE_NOT_FOUND = 4404
TICK_SECONDS = 1.0
JOINS_EVERY = 3  # ticks between two "joined" summaries
STATS_EVERY = 10.0
LEASE_MS = 3000
REDIS_DEADLINE = 2.0
CHAT_THREADS = 4
# a lease taken or renewed by its holder only (one round trip)
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


async def _redis(layer: Any, *commands: tuple[str, tuple[Any, ...]]) -> list[Any] | None:
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


class Room:
    """One live's connections in this process (see the module's docstring)."""

    rooms: ClassVar[dict[int, Room]] = {}

    def __init__(self, live_id: int, layer: Any) -> None:
        self.live_id = live_id
        self.layer = layer
        self.members: dict[str, LiveChatConsumer] = {}
        self.relay = ""
        self.tasks: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()

    @classmethod
    async def join(cls, live_id: int, consumer: LiveChatConsumer) -> Room:
        room = cls.rooms.get(live_id)
        if room is None:
            room = cls.rooms[live_id] = Room(live_id, consumer.channel_layer)
            room.members[consumer.channel_name] = consumer
            await room._start()
        else:
            room.members[consumer.channel_name] = consumer
            await room.started.wait()
        return room

    async def leave(self, consumer: LiveChatConsumer) -> None:
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
        self.tasks = [asyncio.create_task(self._relay_loop()),
                      asyncio.create_task(self._tick_loop())]
        self.started.set()

    # --- the relay ------------------------------------------------------------------------

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
            await self.dispatch(event)

    async def dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        text = json.dumps(event.get("frame") or {})
        # Handing a frame to a connection never waits for its socket (`outbox`): one viewer
        # who stops reading must not hold up the room.
        if kind == "live.event":
            author = event.get("author")
            droppable = (event.get("frame") or {}).get("type") == "tick"
            for member in list(self.members.values()):
                if author is None or author not in member.hidden_authors:
                    member.push(text, droppable=droppable)
        elif kind == "live.user":
            user_id = int(event["user"])
            for member in [m for m in self.members.values() if m.user_id == user_id]:
                member.push(text)
                if event.get("close"):
                    member.close_after(broadcast.CLOSE_BANNED)
        elif kind == "live.end":
            for member in list(self.members.values()):
                member.push(text)
                member.close_after(broadcast.CLOSE_ENDED)

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
                await _redis(self.layer, ("zadd", (presence.key(self.live_id, "viewers"),
                                                   dict.fromkeys(self.members, expiry))))
            leader = await _redis(self.layer, ("eval", (
                _LEASE, 1, presence.key(self.live_id, "ticker"), self.relay, LEASE_MS)))
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
                    logger.warning("live chat: stats of %s not written", self.live_id,
                                   exc_info=True)

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
            commands += [("lrange", (presence.key(k, "joins"), 0, presence.JOIN_NAMES - 1)),
                         ("getdel", (presence.key(k, "joins:n"),)),
                         ("delete", (presence.key(k, "joins"),))]
        found = await _redis(self.layer, *commands)
        if found is None:
            return
        viewers, new_likes, likes, peak = int(found[1]), int(found[2] or 0), found[3], found[4]
        stats = presence.key(k, "stats")
        writes: list[tuple[str, tuple[Any, ...]]] = [
            ("hincrbyfloat", (stats, "watch", round(viewers * elapsed, 3))),
            ("expire", (stats, presence.KEY_TTL_SECONDS))]
        if viewers > int(float(peak or 0)):
            writes.append(("hset", (stats, "peak", viewers)))
        await _redis(self.layer, *writes)
        frame: dict[str, Any] = {"type": "tick", "viewers": viewers,
                                 "likes": int(float(likes or 0)), "likes_new": new_likes}
        if joins:
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in found[5]]
            joined = int(found[6] or 0)
            if joined:
                frame["joined"] = {"names": names, "others": max(0, joined - len(names))}
        await self.layer.group_send(broadcast.room_group(k), {"type": "live.event",
                                                             "frame": frame})


@database_sync_to_async
def _open(user: User | None, live_id: str) -> tuple[LiveStream, dict[str, Any], set[int]]:
    live = live_for(user or AnonymousUser(), live_id)
    hidden = blocked_user_ids(user.pk) if user is not None else set()
    return live, selectors.chat_state(user, live), hidden


# Sends and taps run on a pool of their own, not on Channels' one database thread: a post
# costs a few queries and the text classifier (~10 ms), and at tens of messages a second one
# thread would queue every connect and read of the process behind them. Each pool thread has
# its own database connection (closed when old, like the one thread's).
_CHAT_POOL = ThreadPoolExecutor(max_workers=CHAT_THREADS, thread_name_prefix="live-chat")


def _on_pool(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    wrapped: Callable[..., Awaitable[Any]] = DatabaseSyncToAsync(
        func, thread_sensitive=False, executor=_CHAT_POOL)
    return wrapped


def _post_sync(user: User | None, live_id: int, text: Any) -> tuple[dict[str, Any], str]:
    _, payload, hide = services.chat_post(user, live_id, text)
    return payload, hide.words if hide else ""


_post = _on_pool(_post_sync)
_like = _on_pool(services.likes_add)


class LiveChatConsumer(MalformedFrameMixin, NoPerMessageDbCloseMixin,
                       AsyncJsonWebsocketConsumer):
    user: User | None = None
    user_id: int | None = None
    room: Room | None = None
    live_id: int = 0

    async def connect(self) -> None:
        await self.accept()
        self.hidden_authors: set[int] = set()
        # every frame to this socket goes through its outbox, so one writer sends them in
        # order and nobody else waits for this socket
        self.outbox = Outbox(self._write, self._write_close)
        user, logged_in = await authenticate_socket(self.scope)
        if logged_in and user is None:
            await self._refuse(CLOSE_DEACTIVATED, "This account is deactivated.")
            return
        try:
            live, state, hidden = await _open(user, str(self.scope["url_route"]["kwargs"]
                                                        ["live_id"]))
        except ApplicationError:
            await self._refuse(CLOSE_NOT_FOUND, LIVE_NOT_FOUND)
            return
        if live.state == LiveStream.State.ENDED:
            await self._refuse(broadcast.CLOSE_ENDED, "This live has ended.")
            return
        self.user, self.user_id, self.live_id = user, (user.pk if user else None), live.pk
        self.hidden_authors = hidden
        self.room = await Room.join(live.pk, self)
        k = live.pk
        commands: list[tuple[str, tuple[Any, ...]]] = [
            ("zadd", (presence.key(k, "viewers"),
                      {self.channel_name: time.time() + presence.PRESENCE_TTL_SECONDS})),
            ("expire", (presence.key(k, "viewers"), presence.KEY_TTL_SECONDS)),
            ("pfadd", (presence.key(k, "uniq"), presence.unique_member(
                user_id=user.pk if user else None, cookies=self.scope.get("cookies") or {},
                connection=self.channel_name))),
            ("expire", (presence.key(k, "uniq"), presence.KEY_TTL_SECONDS))]
        if user is not None and user.pk != live.host_id:
            commands += [("rpush", (presence.key(k, "joins"), user.username)),
                         ("ltrim", (presence.key(k, "joins"), 0, presence.JOIN_NAMES - 1)),
                         ("incr", (presence.key(k, "joins:n"),)),
                         ("expire", (presence.key(k, "joins"), presence.KEY_TTL_SECONDS)),
                         ("expire", (presence.key(k, "joins:n"), presence.KEY_TTL_SECONDS))]
        await _redis(self.channel_layer, *commands)
        await self.send_json({"type": "ready", **state})

    async def _refuse(self, code: int, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
        self.close_after(code)

    async def disconnect(self, code: int) -> None:
        outbox = getattr(self, "outbox", None)
        if outbox is not None:
            await outbox.stop()
        if self.room is None:
            return
        await self.room.leave(self)
        self.room = None
        await _redis(self.channel_layer, ("zrem", (presence.key(self.live_id, "viewers"),
                                                   self.channel_name)))

    def push(self, text: str, *, droppable: bool = False) -> None:
        """A frame the room serialised once, queued (never waits for the socket)."""
        self.outbox.put(text, droppable=droppable)

    def close_after(self, code: int) -> None:
        """Close once the frames queued before are written."""
        self.outbox.close(code)

    async def send_json(self, content: Any, close: bool = False) -> None:
        self.outbox.put(await self.encode_json(content))
        if close:
            self.close_after(1000)

    async def _write(self, text: str) -> None:
        await self.send(text_data=text)

    async def _write_close(self, code: int) -> None:
        await self.close(code=code)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.room is None:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        client_id = content.get("client_id") if isinstance(content, dict) else None
        try:
            if kind == "send":
                payload, notice = await _post(self.user, self.live_id, content.get("text"))
                await self.send_json({"type": "ack", "client_id": client_id,
                                      "message": payload, "hidden": bool(notice),
                                      "notice": notice})
            elif kind == "like":
                await _like(self.user, self.live_id, content.get("count", 1))
            elif kind == "ping":
                await self.send_json({"type": "pong"})
            else:
                await self.send_json({"type": "error", "code": "invalid",
                                      "message": "Unknown frame: type is one of send, like, "
                                                 "ping."})
        except ApplicationError as exc:
            await self.send_json({"type": "error", "code": exc.code, "message": exc.message,
                                  "fields": exc.fields, "client_id": client_id})
