"""A send to a socket whose client has just gone (the ASGI server raises, as uvicorn's
`ClientDisconnected`) ends the consumer through its `disconnect`, as a close would: before,
the exception ended it without one, and the direct messages socket's heartbeat went on
marking its person online for good (they were never notified of a message again)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from uvicorn.protocols.utils import ClientDisconnected

from apps.core.consumers import NoPerMessageDbCloseMixin

# Channels closes old database connections after a disconnect
pytestmark = pytest.mark.django_db


CLOSED: list[int] = []  # the codes `disconnect` ran with


class _Echo(NoPerMessageDbCloseMixin, AsyncJsonWebsocketConsumer):

    async def connect(self) -> None:
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json({"echo": content})

    async def disconnect(self, code: int) -> None:
        CLOSED.append(code)


def _run(server_send_fails: bool) -> list[int]:
    CLOSED.clear()
    app = _Echo.as_asgi()
    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for event in ({"type": "websocket.connect"},
                  {"type": "websocket.receive", "text": '{"hi": 1}'}):
        inbound.put_nowait(event)

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "websocket.send" and server_send_fails:
            raise ClientDisconnected
        if event["type"] == "websocket.send":
            inbound.put_nowait({"type": "websocket.disconnect", "code": 1000})

    async def main() -> None:
        await asyncio.wait_for(app({"type": "websocket", "path": "/ws/echo/", "headers": []},
                                   inbound.get, send), 10)

    asyncio.run(main())
    return list(CLOSED)


def test_a_send_to_a_gone_client_runs_disconnect() -> None:
    assert _run(server_send_fails=True) == [1006]


def test_a_normal_close_runs_disconnect_once() -> None:
    assert _run(server_send_fails=False) == [1000]


class _Broken(_Echo):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        raise ValueError("a bug, not a gone client")


def test_other_errors_still_surface() -> None:
    app = _Broken.as_asgi()
    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbound.put_nowait({"type": "websocket.connect"})
    inbound.put_nowait({"type": "websocket.receive", "text": "{}"})

    async def send(event: dict[str, Any]) -> None:
        return None

    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(app({"type": "websocket", "path": "/ws/echo/", "headers": []},
                        inbound.get, send))
