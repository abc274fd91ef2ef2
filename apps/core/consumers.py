from __future__ import annotations

import json
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer


class NoPerMessageDbCloseMixin:
    """Channels (4.2+) runs `close_old_connections` on the database thread before EVERY
    handler call: each client frame and each channel-layer message hops to that one
    thread, where every consumer of the process queues behind every query. A consumer
    whose handlers reach the database only through `database_sync_to_async` (which closes
    old connections itself, before and after each call) does not need it: with this mixin
    a live delivery that makes no query makes no thread hop (bench/messaging.py)."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except OSError:
            # A send to a socket the client has just closed (uvicorn's ClientDisconnected):
            # the exception would end the consumer before the server's websocket.disconnect
            # is dispatched, so `disconnect` (presence, groups, heartbeats) would never run
            # and a dead connection's heartbeat would keep its person "online" for good.
            if message["type"] == "websocket.disconnect":
                raise
            await self.websocket_disconnect(  # type: ignore[attr-defined]
                {"type": "websocket.disconnect", "code": 1006})  # raises StopConsumer


class MalformedFrameMixin:
    """A frame that is not JSON is answered in the socket's error shape instead of closing
    the connection with an exception (AsyncJsonWebsocketConsumer's default)."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None,
                      **kwargs: Any) -> None:
        try:
            content = json.loads(text_data or "")
        except ValueError:
            await self.send_json({"type": "error", "code": "invalid",  # type: ignore[attr-defined]
                                  "message": "Send JSON frames."})
            return
        await self.receive_json(content)  # type: ignore[attr-defined]


class PingConsumer(NoPerMessageDbCloseMixin, AsyncJsonWebsocketConsumer):
    """A liveness check for the websocket path and the Redis channel layer: the reply goes
    out through a channel-layer group, so a pong proves Redis carries messages."""

    async def connect(self) -> None:
        await self.accept()
        self.group = f"ping.{self.channel_name.replace('!', '_')}"
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.channel_layer.group_send(
            self.group,
            {"type": "pong", "echo": content, "user": self.scope["user"].is_authenticated},
        )

    async def pong(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {"type": "pong", "echo": event["echo"], "authenticated": event["user"]}
        )
