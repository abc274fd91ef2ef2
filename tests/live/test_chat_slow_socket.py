"""A viewer whose socket stops reading must not hold up the room (apps/live/chat/outbox.py).

End to end: the real ASGI server (uvicorn + websockets, which waits for a socket's drain
once 64 KiB are buffered), the real Redis channel layer, a raw TCP websocket client with a
tiny receive buffer that stops reading after `ready`, and a normal client reading
promptly. The room gets more bytes than every buffer between it and the slow reader holds;
the prompt one must still get every frame, in order, and the slow one, when it reads at
last, a contiguous beginning of them and a `missed` frame counting the rest.

The queue's own rules (ticks replaced oldest first, chat frames dropped and counted, a close
after what waits, a queue stalled past the limit closed 4008) are checked on the `Outbox`
itself with a send that waits until the test lets it go.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any
from urllib.parse import urlsplit

import pytest
import websockets
from asgiref.sync import sync_to_async
from websockets.typing import Origin

from apps.live.chat import broadcast
from apps.live.chat.outbox import CLOSE_TOO_SLOW, Outbox
from tests.live.live_helpers import host, on_air

FRAMES = 160
PAD = "x" * 64 * 1024  # 160 x 64 KiB = 10 MiB: more than the kernel's 4 MiB send buffer
WAIT = 60.0


class RawSocket:
    """A websocket client on a plain TCP socket whose receive buffer is tiny, so the server
    sees a reader that stops reading: it reads only when told to."""

    def __init__(self, http_base: str, path: str) -> None:
        url = urlsplit(http_base)
        host_, port = url.hostname or "127.0.0.1", url.port or 80
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self.sock.settimeout(WAIT)
        self.sock.connect((host_, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host_}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: http://{host_}:{port}\r\n\r\n".encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buffer += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def frame(self) -> tuple[int, bytes]:
        """The next frame the server sent (unmasked, unfragmented): opcode, payload."""
        first, second = self._take(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._take(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._take(8))[0]
        return first & 0x0F, self._take(length)

    def json(self) -> dict[str, Any] | int:
        """The next text frame as JSON, or the close code of a close frame (pings
        skipped)."""
        while True:
            opcode, payload = self.frame()
            if opcode == 1:
                frame: dict[str, Any] = json.loads(payload)
                return frame
            if opcode == 8:
                code: int = struct.unpack("!H", payload[:2])[0]
                return code

    def close(self) -> None:
        self.sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_stops_reading_does_not_hold_up_the_room(
        live_asgi_server: str) -> None:
    live, _ = on_air(host())
    path = f"/ws/live/{live.pk}/"
    url = live_asgi_server.replace("http://", "ws://") + path

    async def run() -> None:
        slow = await asyncio.to_thread(RawSocket, live_asgi_server, path)
        try:
            first = await asyncio.to_thread(slow.json)
            assert isinstance(first, dict), first
            assert first["type"] == "ready", first
            async with websockets.connect(url, origin=Origin(live_asgi_server)) as fast:
                ready = json.loads(await asyncio.wait_for(fast.recv(), WAIT))
                assert ready["type"] == "ready"
                # signed-out viewers: the slow one now reads nothing at all
                for seq in range(FRAMES):
                    await sync_to_async(broadcast.send)(
                        live.pk, {"type": "message", "seq": seq, "pad": PAD})
                got: list[int] = []
                while len(got) < FRAMES:
                    frame = json.loads(await asyncio.wait_for(fast.recv(), WAIT))
                    if frame["type"] == "message":
                        got.append(frame["seq"])
                # every frame reached the prompt reader, in order, while the slow one's
                # buffers were full
                assert got == list(range(FRAMES))

            # the slow reader reads at last: the beginning, in order, then "missed"
            seqs: list[int] = []
            while True:
                frame = await asyncio.to_thread(slow.json)
                if isinstance(frame, int):
                    # past the stall limit the server closed it instead: the client
                    # reconnects on this code
                    assert frame == CLOSE_TOO_SLOW
                    assert seqs == list(range(len(seqs)))
                    assert len(seqs) < FRAMES
                    return
                if frame["type"] == "message":
                    seqs.append(frame["seq"])
                elif frame["type"] == "missed":
                    break
            assert seqs == list(range(len(seqs)))
            assert 0 < len(seqs) < FRAMES
            assert frame["count"] == FRAMES - len(seqs)
            assert f"{frame['count']} chat messages didn't reach you" in frame["message"]
        finally:
            slow.close()

    asyncio.run(run())


class Gate:
    """A socket's send as the outbox sees it: written frames, held until `open`."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: list[int] = []
        self.opened = asyncio.Event()

    async def send(self, text: str) -> None:
        await self.opened.wait()
        self.sent.append(text)

    async def close(self, code: int) -> None:
        self.closed.append(code)


def _kinds(sent: list[str]) -> list[str]:
    out = []
    for text in sent:
        frame = json.loads(text)
        out.append(frame.get("id") or f"{frame['type']}:{frame.get('count')}")
    return out


def _frame(name: str) -> str:
    return json.dumps({"type": "tick" if name.startswith("t") else "message", "id": name})


def test_ticks_are_replaced_oldest_first_and_dropped_chat_is_counted() -> None:
    async def run() -> None:
        gate = Gate()
        box = Outbox(gate.send, gate.close, limit=4, stall_seconds=3600)
        box.put(_frame("m1"))
        await asyncio.sleep(0)  # the writer takes m1 and waits in the socket's send
        for name in ("t1", "m2", "m3", "t2"):
            box.put(_frame(name), droppable=name.startswith("t"))
        assert len(box) == 4
        box.put(_frame("t3"), droppable=True)  # full: the oldest tick (t1) goes
        box.put(_frame("m4"))  # full: a waiting tick (t2) goes, not the message
        box.put(_frame("m5"))  # full: t3 goes
        box.put(_frame("m6"))  # full of messages: dropped and counted
        box.put(_frame("t4"), droppable=True)  # dropped, not counted as missed
        assert (box.missed, box.dropped) == (1, 5)
        gate.opened.set()
        for _ in range(50):
            await asyncio.sleep(0)
        assert _kinds(gate.sent) == ["m1", "m2", "m3", "m4", "m5", "missed:1"]
        # room again: the next frames go out as usual
        box.put(_frame("m7"))
        box.close(4000)
        box.put(_frame("m8"))  # after the close: never sent
        for _ in range(50):
            await asyncio.sleep(0)
        assert _kinds(gate.sent)[-1] == "m7"
        assert "m8" not in _kinds(gate.sent)
        assert gate.closed == [4000]
        await box.stop()

    asyncio.run(run())


def test_missed_is_told_before_the_next_frame_once_there_is_room() -> None:
    async def run() -> None:
        gate = Gate()
        box = Outbox(gate.send, gate.close, limit=2, stall_seconds=3600)
        for name in ("m1", "m2", "m3", "m4", "m5"):
            box.put(_frame(name))
            await asyncio.sleep(0)
        assert box.missed == 2  # m1 in the send, m2 and m3 waiting
        gate.opened.set()
        await asyncio.sleep(0)
        box.put(_frame("m6"))
        for _ in range(50):
            await asyncio.sleep(0)
        # m2 and m3 were waiting before the drops: the count comes after them
        assert _kinds(gate.sent) == ["m1", "m2", "m3", "missed:2", "m6"]
        await box.stop()

    asyncio.run(run())


def test_a_queue_that_stays_full_past_the_limit_closes_the_connection() -> None:
    async def run() -> None:
        gate = Gate()
        box = Outbox(gate.send, gate.close, limit=2, stall_seconds=0)
        box.put(_frame("m1"))
        await asyncio.sleep(0)  # m1 stuck in the send
        box.put(_frame("m2"))
        box.put(_frame("m3"))  # full now, and nothing was written since
        box.check()
        for _ in range(10):
            await asyncio.sleep(0)
        assert gate.closed == [CLOSE_TOO_SLOW]
        assert gate.sent == []  # the stuck send was abandoned, nothing else written
        box.put(_frame("m4"))  # a closing connection takes nothing more
        assert len(box) == 0
        await box.stop()

    asyncio.run(run())
