from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
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
