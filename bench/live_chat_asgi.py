"""The ASGI application of the live chat benchmark (bench/live_chat.py): production's, plus
a bare Channels echo shaped like a live's room, at `ws/bench/live-echo/`.

The echo is the benchmark's baseline only; it is never in production routing
(swipeme_site/routing.py). It does the least a room must: every connection joins the room's
channel-layer group; a `send` is acknowledged to its sender and `group_send` to the group
(every connection, the sender included), each connection serialising the frame itself. No
session, no database, no moderation, no presence.

    uvicorn --app-dir bench live_chat_asgi:application ...
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from swipeme_site.asgi import django_asgi_app  # sets Django up first
from swipeme_site.routing import websocket_urlpatterns

ECHO_PATH = "ws/bench/live-echo/"
GROUP = "bench-live-echo"


class LiveEchoConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        await self.accept()
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.send_json({"type": "ready"})

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content.get("type") != "send":
            return
        message = {"id": content.get("client_id"), "text": str(content.get("text", ""))}
        await self.send_json({"type": "ack", "client_id": content.get("client_id"),
                              "message": message, "hidden": False, "notice": ""})
        await self.channel_layer.group_send(GROUP, {"type": "echo.message",
                                                    "message": message})

    async def echo_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "message", "message": event["message"]})


application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([
        path(ECHO_PATH, LiveEchoConsumer.as_asgi()), *websocket_urlpatterns]))),
})
