"""The live chat websocket, `ws/live/<id>/`: one per viewer of a live.

Connect: authenticated like `ws/messages/` (session cookie or `X-Session-Token`); signed-out
viewers may watch a live that `live.selectors.live_for` shows them (read-only chat). Refused
with a JSON `error` then a close code: 4403 deactivated, 4404 a live they may not see (or
none), 4000 an ended live. Then `{"type": "ready", ...selectors.chat_state}` (settings,
pinned message, the last 50 messages, counts, their own standing).

Client frames: `{"type": "send", "text", "client_id"?}` (answered `ack` {"client_id",
"message", "hidden", "notice"}: a hidden message's author reads why in `notice`; or `error`
{"code", "message", "fields", "client_id"}), `{"type": "like", "count"}` (taps since the
last one), `{"type": "ping"}` (`pong`, after the frames the room was told before it).

Server frames: `message`, `deleted` {"message": id}, `pinned` {"message": payload|null},
`settings`, `gift`, `user_removed`, `tick` (about every second: `viewers`, `likes` (total),
`likes_new`, and every few seconds `joined` {"names", "others"}: "maya and 12 others
joined"), for one person `muted` / `unmuted` / `banned` (then closed 4403), and `ended`
(then closed 4000). A connection that reads too slowly gets `missed` {"count", "message"}
for the chat frames it lost, or is closed 4008 (reconnect) when it reads nothing for long
(`outbox`: the room never waits for one socket).

Fan-out, windows, hidden authors, presence and the tick: `room.Room` (one per live per
process; see its module).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AnonymousUser

from apps.accounts.models import User
from apps.core import socket_gc
from apps.core.consumers import MalformedFrameMixin, NoPerMessageDbCloseMixin
from apps.core.errors import ApplicationError
from apps.live.chat import broadcast, presence, selectors, services, standing
from apps.live.chat.outbox import Outbox
from apps.live.chat.room import Room, own_blocks, redis_commands
from apps.live.models import LiveStream
from apps.live.selectors import LIVE_NOT_FOUND, live_for
from apps.notifications.consumers import authenticate_socket

CLOSE_DEACTIVATED = 4403
CLOSE_NOT_FOUND = 4404
CHAT_THREADS = 4


@database_sync_to_async
def _open(
    user: User | None, live_id: str
) -> tuple[LiveStream, dict[str, Any], set[int], dict[int, str | None] | None]:
    """The live, the chat's state, the viewer's hidden authors and the version token they
    were read under (`room.own_blocks`; `Room.admit` compares it after the join)."""
    live = live_for(user or AnonymousUser(), live_id)
    seen, hidden = own_blocks(user.pk) if user is not None else (None, set())
    return live, selectors.chat_state(user, live), hidden, seen


# Sends and taps run on a pool of their own, not on Channels' one database thread: a post
# costs a few queries and the text classifier (~10 ms), and at tens of messages a second one
# thread would queue every connect and read of the process behind them. Each pool thread has
# its own database connection (closed when old, like the one thread's).
_CHAT_POOL = ThreadPoolExecutor(max_workers=CHAT_THREADS, thread_name_prefix="live-chat")


def _on_pool(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    wrapped: Callable[..., Awaitable[Any]] = DatabaseSyncToAsync(
        func, thread_sensitive=False, executor=_CHAT_POOL
    )
    return wrapped


def _post_sync(
    user: User | None, live_id: int, text: Any, kept: standing.StandingCache | None
) -> tuple[dict[str, Any], str]:
    _, payload, hide = services.chat_post(user, live_id, text, kept=kept)
    return payload, hide.words if hide else ""


_post = _on_pool(_post_sync)
_like = _on_pool(services.likes_add)


class LiveChatConsumer(MalformedFrameMixin, NoPerMessageDbCloseMixin, AsyncJsonWebsocketConsumer):
    user: User | None = None
    user_id: int | None = None
    room: Room | None = None
    live_id: int = 0
    # what this person's posts read, kept between messages (`standing`)
    kept: standing.StandingCache | None = None

    async def connect(self) -> None:
        socket_gc.tune_once()  # a process holding these sockets: `core.socket_gc`
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
            live, state, hidden, seen = await _open(
                user, str(self.scope["url_route"]["kwargs"]["live_id"])
            )
        except ApplicationError:
            await self._refuse(CLOSE_NOT_FOUND, LIVE_NOT_FOUND)
            return
        if live.state == LiveStream.State.ENDED:
            await self._refuse(broadcast.CLOSE_ENDED, "This live has ended.")
            return
        self.user, self.user_id, self.live_id = user, (user.pk if user else None), live.pk
        if user is not None:
            self.kept = standing.StandingCache(
                live_id=live.pk, host_id=live.host_id, user_id=user.pk
            )
        self.hidden_authors = hidden
        self.room = await Room.join(live.pk, self)
        if user is not None:  # a block committed while this socket joined (see `room`)
            await self.room.admit(self, seen)
        k = live.pk
        commands: list[tuple[str, tuple[Any, ...]]] = [
            (
                "zadd",
                (
                    presence.key(k, "viewers"),
                    {self.channel_name: time.time() + presence.PRESENCE_TTL_SECONDS},
                ),
            ),
            ("expire", (presence.key(k, "viewers"), presence.KEY_TTL_SECONDS)),
            (
                "pfadd",
                (
                    presence.key(k, "uniq"),
                    presence.unique_member(
                        user_id=user.pk if user else None,
                        cookies=self.scope.get("cookies") or {},
                        connection=self.channel_name,
                    ),
                ),
            ),
            ("expire", (presence.key(k, "uniq"), presence.KEY_TTL_SECONDS)),
        ]
        if user is not None and user.pk != live.host_id:
            commands += [
                ("rpush", (presence.key(k, "joins"), user.username)),
                ("ltrim", (presence.key(k, "joins"), 0, presence.JOIN_NAMES - 1)),
                ("incr", (presence.key(k, "joins:n"),)),
                ("expire", (presence.key(k, "joins"), presence.KEY_TTL_SECONDS)),
                ("expire", (presence.key(k, "joins:n"), presence.KEY_TTL_SECONDS)),
            ]
        await redis_commands(self.channel_layer, *commands)
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
        await redis_commands(
            self.channel_layer, ("zrem", (presence.key(self.live_id, "viewers"), self.channel_name))
        )

    def push(self, text: str, *, droppable: bool = False, count: int = 1) -> None:
        """A frame the room serialised once (a batch: `count` frames), queued (never waits
        for the socket)."""
        self.outbox.put(text, droppable=droppable, count=count)

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
                payload, notice = await _post(
                    self.user, self.live_id, content.get("text"), self.kept
                )
                await self.send_json(
                    {
                        "type": "ack",
                        "client_id": client_id,
                        "message": payload,
                        "hidden": bool(notice),
                        "notice": notice,
                    }
                )
            elif kind == "like":
                await _like(self.user, self.live_id, content.get("count", 1))
            elif kind == "ping":
                self.room.answer(self, await self.encode_json({"type": "pong"}))
            else:
                await self.send_json(
                    {
                        "type": "error",
                        "code": "invalid",
                        "message": "Unknown frame: type is one of send, like, ping.",
                    }
                )
        except ApplicationError as exc:
            await self.send_json(
                {
                    "type": "error",
                    "code": exc.code,
                    "message": exc.message,
                    "fields": exc.fields,
                    "client_id": client_id,
                }
            )
