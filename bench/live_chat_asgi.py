"""The ASGI application of the live chat benchmark (bench/live_chat.py): production's, plus
two echo rooms that are the benchmark's baselines only (never in production routing,
swipeme_site/routing.py):

- `ws/bench/live-echo/` (the ratio's baseline): the live room's own fan-out
  (`apps.live.chat.room.Room`: one relay channel per process in the room's group, the
  window coalesced into `batch` frames, each socket's bounded outbox) with everything else
  taken away: no session, no database, no moderation, no presence, no tick. A `send` is
  acknowledged and `group_send` to the room as the chat's services do after their commit.
  So live/echo is what the chat's own work (auth, the post with its moderation, its
  transaction) costs on top of the same fan-out.
- `ws/bench/live-bare/`: a bare Channels echo (every connection a member of the group, one
  channel-layer delivery per socket, each serialising the frame), the design the room
  replaced; it overflows the process's channel at 2,000 sockets and 50/s.

    uvicorn --app-dir bench live_chat_asgi:application ...

Environment: BENCH_LIVE_CHAT_COALESCE_MS sets the rooms' window (0: a frame goes out on the
next turn of the event loop, nearly never shared); BENCH_LIVE_CHAT_PROFILE=out.prof runs the
event loop's thread under cProfile, written at exit (one worker); BENCH_LIVE_CHAT_TRACE=DIR
(the echo room only, one worker) writes DIR/server.json when the echo phase ends and at
exit: per message its
relay receipt and its window's flush and fan-out times, per socket write (client port,
window, time), the event loop's stalls over 20 ms and the garbage collector's passes, all
on CLOCK_MONOTONIC (the bench's `--trace` reads it beside the client's own);
BENCH_LIVE_CHAT_GC_DEFAULT=1 leaves CPython's collector as it is (no `core.socket_gc`
tuning: the before of an A/B).
"""

from __future__ import annotations

import asyncio
import atexit
import cProfile
import json
import os
import time
from typing import Any

from _loop_probe import LoopProbe
from channels.auth import AuthMiddlewareStack
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from swipeme_site.asgi import django_asgi_app  # sets Django up first
from swipeme_site.routing import websocket_urlpatterns

_profile: cProfile.Profile | None = None
if os.environ.get("BENCH_LIVE_CHAT_PROFILE"):
    _profile = _started = cProfile.Profile()
    _started.enable()
    atexit.register(lambda: _started.dump_stats(os.environ["BENCH_LIVE_CHAT_PROFILE"]))

# after Django's setup (above)
from apps.core import socket_gc  # noqa: E402
from apps.live.chat import broadcast, consumer, room  # noqa: E402
from apps.live.chat.outbox import Outbox  # noqa: E402

if os.environ.get("BENCH_LIVE_CHAT_GC_DEFAULT") == "1":
    socket_gc._tuned = True  # tune_once does nothing: CPython's defaults (an A/B's before)
if os.environ.get("BENCH_LIVE_CHAT_COALESCE_MS"):
    room.WINDOW_SECONDS = int(os.environ["BENCH_LIVE_CHAT_COALESCE_MS"]) / 1000

ECHO_PATH = "ws/bench/live-echo/"
BARE_PATH = "ws/bench/live-bare/"
ECHO_ROOM = -18  # no live has this id: the echo room's key and group
GROUP = "bench-live-echo"


class _Trace(LoopProbe):
    """BENCH_LIVE_CHAT_TRACE (see the module's docstring): where a late delivery waited."""

    def __init__(self, directory: str) -> None:
        super().__init__()  # the loop's stalls and the GC's passes
        self.path = os.path.join(directory, "server.json")
        self.relayed: dict[str, float] = {}  # seq -> the relay handed it to the room
        self.windows: list[tuple[float, float, float, list[str]]] = []  # flush, fan-out end
        self.text_window: dict[int, int] = {}  # id(a window's text) -> window number
        self.texts: list[str] = []  # keeps those texts alive (ids stay unique)
        self.writes: list[tuple[int, int, float, float]] = []  # port, window, start, end

    def start(self) -> None:
        if self.running:
            return
        super().start()
        atexit.register(self.dump)  # the stalls and passes of the later phases too

    def dump(self) -> None:
        """Written when the echo room empties (its phase is over: the write costs the loop
        a second or more, so never while measuring) and at exit."""
        with open(self.path + ".tmp", "w") as out:
            json.dump({"relayed": self.relayed, "windows": self.windows,
                       "writes": self.writes, "stalls": self.stalls, "gcs": self.gcs}, out)
        os.replace(self.path + ".tmp", self.path)


_trace = _Trace(os.environ["BENCH_LIVE_CHAT_TRACE"]) if os.environ.get(
    "BENCH_LIVE_CHAT_TRACE") else None


class EchoRoom(room.Room):
    ticking = False

    if _trace is not None:
        def dispatch(self, event: dict[str, Any]) -> None:
            assert _trace is not None
            message = (event.get("frame") or {}).get("message") or {}
            _trace.relayed[str(message.get("id"))] = time.monotonic()
            super().dispatch(event)

        def deliver(self, window: list[room._Said]) -> None:
            assert _trace is not None
            began = time.monotonic()
            number = len(_trace.windows)
            seqs = [str(said.message) for said in window]
            texts = room.batches([said.text for said in window])
            for text, _ in texts:
                _trace.text_window[id(text)] = number
                _trace.texts.append(text)
            original = room.batches
            room.batches = lambda texts_: texts  # type: ignore[assignment]  # these very objects
            try:
                super().deliver(window)
            finally:
                room.batches = original
            _trace.windows.append((began, time.monotonic(), 0.0, seqs))


class LiveEchoConsumer(consumer.LiveChatConsumer):
    """The live room's fan-out without the chat's work (see the module's docstring)."""

    async def connect(self) -> None:
        socket_gc.tune_once()  # as the live's consumer
        await self.accept()
        self.hidden_authors = set()
        self.outbox = Outbox(self._write, self._write_close)
        if _trace is not None:
            _trace.start()
            self._port = int((self.scope.get("client") or ("", 0))[1])
        self.live_id = ECHO_ROOM
        self.room = await EchoRoom.join(ECHO_ROOM, self)
        await self.send_json({"type": "ready"})

    async def _write(self, text: str) -> None:
        if _trace is None:
            await self.send(text_data=text)
            return
        began = time.monotonic()
        await self.send(text_data=text)
        window = _trace.text_window.get(id(text))
        if window is not None:
            _trace.writes.append((self._port, window, began, time.monotonic()))

    async def disconnect(self, code: int) -> None:
        await self.outbox.stop()
        if self.room is not None:
            await self.room.leave(self)
            if _trace is not None and not self.room.members:
                _trace.dump()
            self.room = None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "send":
            return
        message = {"id": content.get("client_id"), "text": str(content.get("text", ""))}
        await self.send_json({"type": "ack", "client_id": content.get("client_id"),
                              "message": message, "hidden": False, "notice": ""})
        await self.channel_layer.group_send(broadcast.room_group(ECHO_ROOM), {
            "type": "live.event", "frame": {"type": "message", "message": message}})


class BareEchoConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
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


_DUMP_EVERY = 5.0
_dumping = False


def _dump() -> None:
    """The profile so far, to the file (on the loop's thread: dumping stops the profiler,
    which only that thread may start again). The server may be killed before its atexit."""
    assert _profile is not None
    _profile.dump_stats(os.environ["BENCH_LIVE_CHAT_PROFILE"])
    _profile.enable()
    asyncio.get_running_loop().call_later(_DUMP_EVERY, _dump)


async def _profiled(scope: Any, receive: Any, send: Any) -> None:
    global _dumping
    if not _dumping:
        _dumping = True
        asyncio.get_running_loop().call_later(_DUMP_EVERY, _dump)
    await _routed(scope, receive, send)


_routed = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([
        path(ECHO_PATH, LiveEchoConsumer.as_asgi()),
        path(BARE_PATH, BareEchoConsumer.as_asgi()),
        *websocket_urlpatterns]))),
})
application = _profiled if _profile is not None else _routed
