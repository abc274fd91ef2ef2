"""The live chat's per-connection queue (apps/live/chat/outbox.py): ticks replaced oldest
first, chat frames dropped and counted, a close after what waits, a queue stalled past the
limit closed 4008; checked on the `Outbox` itself with a send that waits until the test
lets it go. The end-to-end case (a real server, a socket that stops reading) is a fault
test: tests/faults/test_live_chat_slow_socket.py.
"""

from __future__ import annotations

import asyncio
import json

from apps.live.chat.outbox import CLOSE_TOO_SLOW, Outbox


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
