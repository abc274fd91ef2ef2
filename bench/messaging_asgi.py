"""The ASGI application of the messaging benchmark (bench/messaging.py): production's, plus a
bare Channels echo shaped like a conversation, at `ws/bench/conversation-echo/`.

The echo is the benchmark's baseline only; it is never in production routing
(swipeme_site/routing.py). It speaks the subset of `ws/messages/`'s protocol the benchmark
uses and does the least a conversation must: a `subscribe` joins the conversation's
channel-layer group, a `send` is acknowledged to its sender and `group_send` to the group
(every member, the sender included). No session, no database, no sequence numbers.

    uvicorn --app-dir bench messaging_asgi:application ...
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from swipeme_site.asgi import django_asgi_app  # sets Django up first
from swipeme_site.routing import websocket_urlpatterns

ECHO_PATH = "ws/bench/conversation-echo/"

# The server's garbage collector's pauses of GC_LOG_MS or more, in its log (stderr): a
# collection of the oldest generation walks every live object (5,000 connections' worth)
# with the event loop stopped, which a delivery's tail would show.
GC_LOG_MS = 20.0
_gc_began: list[float] = []


def _gc_pause(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_began[:] = [time.perf_counter()]
    elif _gc_began:
        spent = (time.perf_counter() - _gc_began[0]) * 1e3
        if spent >= GC_LOG_MS:
            print(f"gc pause: generation {info.get('generation')}, {spent:.0f} ms, "
                  f"{info.get('collected')} collected", file=sys.stderr, flush=True)


gc.callbacks.append(_gc_pause)

if os.environ.get("SWIPEME_BENCH_TRACE"):  # where late deliveries wait (bench/messaging_trace.py)
    from messaging_trace import install

    install(os.environ["SWIPEME_BENCH_TRACE"])


class ConversationEchoConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        self.groups_joined: list[str] = []
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type")
        group = f"bench-echo.{content.get('conversation')}"
        if kind == "subscribe":
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
            await self.send_json({"type": "subscribed",
                                  "conversation": content.get("conversation")})
        elif kind == "send":
            message = {"id": content["client_id"], "conversation": content["conversation"],
                       "client_id": content["client_id"], "sender": {"id": content["sender"]},
                       "body": content.get("body", ""), "seq": None, "change_seq": None}
            await self.send_json({"type": "ack", "client_id": content["client_id"],
                                  "message": message})
            await self.channel_layer.group_send(group, {"type": "echo.message",
                                                        "message": message})

    async def echo_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "message", "message": event["message"]})


application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([
        path(ECHO_PATH, ConversationEchoConsumer.as_asgi()), *websocket_urlpatterns]))),
})
