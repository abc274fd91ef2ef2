from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# "Try Again Later" (RFC 6455's registry): the web and mobile clients reconnect with backoff
# on any code outside 44xx, and a reconnect asks for everything after its last sequence.
CLOSE_TRY_AGAIN = 1013
UNAVAILABLE_WORDS = "Live updates are unavailable for a moment: reconnecting."


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
        except RedisError as exc:
            # The channel layer's Redis is down, hung past its timeout, or its pool has no
            # free connection (a reconnect storm). Without this the exception ended the
            # consumer and uvicorn dropped the TCP connection: no words, no close code.
            if message["type"] == "websocket.disconnect":
                # its groups expire and its presence times out; nothing is waiting for it
                logger.warning("socket: cleanup after a close skipped, Redis: %s", exc)
                raise StopConsumer() from exc
            logger.warning("socket: %s refused, Redis unavailable: %s", message["type"], exc)
            await self._close_unavailable()
        except OSError:
            # A send to a socket the client has just closed (uvicorn's ClientDisconnected):
            # the exception would end the consumer before the server's websocket.disconnect
            # is dispatched, so `disconnect` (presence, groups, heartbeats) would never run
            # and a dead connection's heartbeat would keep its person "online" for good.
            if message["type"] == "websocket.disconnect":
                raise
            await self.websocket_disconnect(  # type: ignore[attr-defined]
                {"type": "websocket.disconnect", "code": 1006})  # raises StopConsumer

    async def _close_unavailable(self) -> None:
        """Tell the client in the socket's error shape, then close with 1013 so it comes
        back with backoff (before the handshake's accept the close refuses it: 403)."""
        # not accepted yet, or already closed: the close code alone, or nothing
        with contextlib.suppress(RuntimeError, OSError):
            await self.send_json({"type": "error", "code": "unavailable",  # type: ignore[attr-defined]
                                  "message": UNAVAILABLE_WORDS})
        with contextlib.suppress(RuntimeError, OSError):
            await self.close(code=CLOSE_TRY_AGAIN)  # type: ignore[attr-defined]


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
