"""The messaging benchmark's clients (bench/messaging.py): one asyncio websocket per member,
what every socket saw (Tally), the capacity and paced phases, and the verdict (order,
duplicates, losses, delivery times)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from messaging_data import Member

RECONNECT_FIRST = 1.0  # seconds: the first reconnect's jitter window
RECONNECT_CEILING = 8.0  # the longest wait between two attempts


def message_of(frame: dict[str, Any]) -> dict[str, Any] | None:
    """The message a server frame carries (a new or changed message, or a replayed one)."""
    if frame.get("type") == "ack":
        return None
    message = frame.get("message")
    if isinstance(message, dict) and "client_id" in message:
        return message
    return None


@dataclass
class Tally:
    """What every socket saw, for the whole phase (across reconnects)."""

    sent_at: dict[str, float] = field(default_factory=dict)  # client id -> first attempt
    sender_of: dict[str, int] = field(default_factory=dict)
    conversation_of: dict[str, int] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    # (recipient, client id) -> receipt times (more than one: a duplicate)
    got: dict[tuple[int, str], list[float]] = field(default_factory=dict)
    out_of_order: int = 0
    refused: list[Any] = field(default_factory=list)
    reconnects: int = 0
    back_at: list[float] = field(default_factory=list)  # each reconnect's subscribe
    delivered: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    done: dict[str, asyncio.Event] = field(default_factory=dict)


class Client:
    """One member's socket: reads every frame, keeps the last seq, and (with `resume`)
    reconnects after a drop, subscribes after its last seq and sends again what was not
    acknowledged, with the same client id."""

    def __init__(self, member: Member, url: str, port: int, tally: Tally,
                 group_members: dict[int, list[int]], echo: bool) -> None:
        self.member = member
        self.url = url
        self.port = port
        self.tally = tally
        self.group_members = group_members
        self.echo = echo
        self.ws: Any = None
        self.last_seq = 0
        self.unacked: dict[str, dict[str, Any]] = {}
        self.connected = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None
        self.closing = False
        self.dropped_at: float | None = None

    async def connect(self) -> None:
        import websockets
        from websockets.typing import Origin

        headers = {} if self.echo else {"X-Session-Token": self.member.token}
        self.ws = await websockets.connect(
            self.url, additional_headers=headers, origin=Origin(f"http://127.0.0.1:{self.port}"),
            open_timeout=120, ping_interval=None, close_timeout=2, max_queue=None)
        await self.ws.send(json.dumps({"type": "subscribe",
                                       "conversation": self.member.conversation,
                                       "after": self.last_seq}))
        if not self.connected.is_set() and self.dropped_at is not None:
            self.tally.back_at.append(time.perf_counter())
            self.dropped_at = None
        self.connected.set()
        for frame in list(self.unacked.values()):  # a retry keeps its client id
            await self.ws.send(json.dumps(frame))

    def start(self) -> None:
        self.reader = asyncio.create_task(self.read_forever())

    async def read_forever(self) -> None:
        import websockets

        while not self.closing:
            if self.ws is not None:
                try:
                    async for raw in self.ws:
                        self.on_frame(json.loads(raw))
                except websockets.ConnectionClosed:
                    pass
                if self.closing:
                    return
                self.tally.reconnects += 1
                self.dropped_at = time.perf_counter()
            self.connected.clear()
            # as a real client: exponential backoff with full jitter (a uniform wait up to
            # the attempt's ceiling), so 5,000 sockets dropped at once come back spread out
            # rather than in waves that each overload the server starting up
            ceiling = RECONNECT_FIRST
            while not self.closing:
                await asyncio.sleep(random.uniform(0.0, ceiling))
                try:
                    await self.connect()
                    break
                except (TimeoutError, OSError, websockets.WebSocketException):
                    self.ws = None
                    ceiling = min(RECONNECT_CEILING, ceiling * 2)

    def on_frame(self, frame: dict[str, Any]) -> None:
        now = time.perf_counter()
        tally = self.tally
        if frame.get("type") == "ack" or (frame.get("type") == "error" and "client_id" in frame):
            client_id = str(frame.get("client_id", ""))
            if frame.get("type") == "error":
                tally.refused.append(frame)
            self.unacked.pop(client_id, None)
            tally.acked_at.setdefault(client_id, now)
            self.check_done(client_id)
            return
        if frame.get("type") == "error":
            tally.refused.append(frame)
            return
        message = message_of(frame)
        if message is None:
            return
        change_seq = message.get("change_seq")
        if change_seq is not None:
            if change_seq <= self.last_seq:
                tally.out_of_order += 1  # or a duplicate: counted by client id below
            self.last_seq = max(self.last_seq, int(change_seq))
        client_id = str(message["client_id"])
        sender = (message.get("sender") or {}).get("id")
        if sender is None or int(sender) == self.member.uid:
            return  # our own message coming back, or a system message
        times = tally.got.setdefault((self.member.uid, client_id), [])
        times.append(now)
        if len(times) == 1:
            tally.delivered[client_id] += 1
            self.check_done(client_id)

    def check_done(self, client_id: str) -> None:
        tally = self.tally
        event = tally.done.get(client_id)
        conversation = tally.conversation_of.get(client_id)
        if event is None or conversation is None:
            return
        if (client_id in tally.acked_at
                and tally.delivered[client_id] >= len(self.group_members[conversation]) - 1):
            event.set()

    async def send(self, client_id: str, body: str) -> None:
        frame: dict[str, Any] = {"type": "send", "conversation": self.member.conversation,
                                 "client_id": client_id, "kind": "text", "body": body}
        if self.echo:
            frame["sender"] = self.member.uid
        tally = self.tally
        tally.sent_at[client_id] = time.perf_counter()
        tally.sender_of[client_id] = self.member.uid
        tally.conversation_of[client_id] = self.member.conversation
        tally.done[client_id] = asyncio.Event()
        self.unacked[client_id] = frame
        if self.connected.is_set():
            with contextlib.suppress(Exception):  # a drop: sent again on reconnect
                await self.ws.send(json.dumps(frame))

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


async def connect_all(clients: list[Client], parallel: int = 50) -> tuple[float, int]:
    """Every socket, `parallel` handshakes at a time; one refused or dropped in its
    handshake (a loaded server) tries again in its reader. (seconds until all are
    connected, handshakes that failed the first time)"""
    import websockets

    gate = asyncio.Semaphore(parallel)
    began = time.perf_counter()
    failed = 0

    async def one(client: Client) -> None:
        nonlocal failed
        async with gate:
            try:
                await client.connect()
            except (TimeoutError, OSError, websockets.WebSocketException):
                client.ws = None
                failed += 1
            client.start()

    await asyncio.gather(*(one(c) for c in clients))
    while not all(c.connected.is_set() for c in clients):
        await asyncio.sleep(0.1)
    return time.perf_counter() - began, failed


def group_members_of(members: list[Member]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for m in members:
        groups[m.conversation].append(m.uid)
    return groups


class Bodies:
    """Client ids and texts unique in the whole benchmark (no two identical messages: the
    spam throttle would be right to slow them)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.counter = itertools.count()

    def next(self) -> tuple[str, str]:
        n = next(self.counter)
        return f"{self.tag}-{n}", f"bench message {n} ({self.tag}) about nothing much"


async def capacity_phase(clients: list[Client], bodies: Bodies, seconds: float,
                         tally: Tally, in_flight: int = 32) -> dict[str, Any]:
    """Closed loop for `seconds`: at most one message in flight per conversation and
    `in_flight` in all (the conversations take turns), the next sent once the last reached
    every member: messages/s delivered. The bound keeps the server saturated without a
    backlog of one send per conversation (500 at 5,000 sockets: a minute of sends queued
    past the phase's end, into the next phase)."""
    by_conversation: dict[int, list[Client]] = defaultdict(list)
    for c in clients:
        by_conversation[c.member.conversation].append(c)
    stop = time.perf_counter() + seconds
    complete = 0
    gate = asyncio.Semaphore(in_flight)

    async def loop(members: list[Client]) -> None:
        nonlocal complete
        for turn in itertools.count():
            async with gate:
                if time.perf_counter() >= stop:
                    return
                client_id, body = bodies.next()
                await members[turn % len(members)].send(client_id, body)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(tally.done[client_id].wait(),
                                           max(0.1, stop - time.perf_counter()) + 30)
                    if time.perf_counter() <= stop:
                        complete += 1
            await asyncio.sleep(0)  # let another conversation take the gate

    began = time.perf_counter()
    await asyncio.gather(*(loop(m) for m in by_conversation.values()))
    spent = min(seconds, time.perf_counter() - began)
    return {"messages": complete, "seconds": spent, "per_s": complete / spent,
            "deliveries_per_s": complete * (len(clients) / len(by_conversation) - 1) / spent}


async def paced_phase(clients: list[Client], bodies: Bodies, rate: float, seconds: float,
                      at_half: Callable[[], Any] | None = None) -> float:
    """`rate` messages/s in all, round-robin over conversations then members, open loop
    (a slow server does not slow the senders). `at_half` runs mid-way, without pausing
    the sends (the restart)."""
    by_conversation: dict[int, list[Client]] = defaultdict(list)
    for c in clients:
        by_conversation[c.member.conversation].append(c)
    rotation = [members[k % len(members)] for k in range(max(map(len, by_conversation.values())))
                for members in by_conversation.values()]
    total = int(rate * seconds)
    began = time.perf_counter()
    side: asyncio.Task[Any] | None = None
    sends = []
    for n in range(total):
        due = began + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if at_half is not None and side is None and n >= total // 2:
            side = asyncio.create_task(asyncio.to_thread(at_half))
        client_id, body = bodies.next()
        sends.append(asyncio.create_task(rotation[n % len(rotation)].send(client_id, body)))
    await asyncio.gather(*sends)
    spent = time.perf_counter() - began
    if side is not None:
        await side
    return spent


async def settle(tally: Tally, client_ids: list[str], timeout: float) -> float:
    """Wait until every message sent reached every other member (or the timeout)."""
    began = time.perf_counter()
    pending = [tally.done[c].wait() for c in client_ids if not tally.done[c].is_set()]
    if pending:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*pending), timeout)
    await asyncio.sleep(0.5)  # a late duplicate would show here
    return time.perf_counter() - began


def server_cpu_s(pid: int) -> float:
    """The server process's CPU time so far (user + system), from /proc: on a shared
    machine CPU per message compares better than wall-clock rates."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(values: list[float]) -> tuple[float, float, float]:
    from notifications import _ms

    return _ms(values)


def verdict(tally: Tally, client_ids: list[str], groups: dict[int, list[int]]) -> dict[str, Any]:
    """Delivery times and the losses/duplicates of the messages `client_ids`."""
    latencies: list[float] = []
    lost = duplicated = unacked = 0
    missing: list[tuple[int, str]] = []  # (recipient, client id) not there at the verdict
    for client_id in client_ids:
        if client_id not in tally.acked_at:
            unacked += 1
        sender = tally.sender_of[client_id]
        for uid in groups[tally.conversation_of[client_id]]:
            if uid == sender:
                continue
            times = tally.got.get((uid, client_id))
            if not times:
                lost += 1
                missing.append((uid, client_id))
                continue
            duplicated += len(times) - 1
            latencies.append(times[0] - tally.sent_at[client_id])
    return {"messages": len(client_ids), "latencies": latencies, "lost": lost,
            "duplicated": duplicated, "unacked": unacked, "missing": missing}
