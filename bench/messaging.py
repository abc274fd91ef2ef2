"""Direct messages (issue 15, "Benchmarks"): live delivery over websockets and the inbox
list, each against a baseline measured in the same run.

    .venv/bin/python bench/messaging.py --reuse --runs 3 --json var/bench/messaging.json
    .venv/bin/python bench/messaging.py --small --runs 1      # a try in a minute or two

1. A dedicated database (`--database-url`, default `bench_messaging`; its name must contain
   "bench"), migrated, seeded with bulk_create (kept with --reuse): `--members` people
   (adults, verified addresses) in group conversations of `--group-size` (5,000 in 500 of
   10), and one more person, the inbox owner, with `--inbox` one-to-one conversations
   (1,000), each with a few messages.
2. Websockets (per run; RLIMIT_NOFILE raised to its hard limit): one uvicorn as `make run`
   serving bench/messaging_asgi.py (production's application plus a bare Channels echo
   shaped like a conversation, `ws/bench/conversation-echo/`, which production routing
   never has). Every member opens one socket and subscribes to its conversation; the
   clients are this process. Phases, the echo's first then the real `ws/messages/` (app
   session in X-Session-Token), on the same sockets count:
   - capacity: every conversation keeps one message in flight (the next is sent once the
     last reached every member) for `--capacity-seconds`: messages/s delivered (a message
     counts when every other member has it);
   - paced: `--rate` messages/s in all, round-robin over conversations and members, for
     `--seconds`: delivery time from the send to each other member's receipt, p50/p99
     (target p99 < 200 ms);
   - restart (real endpoint only): paced again, and mid-way the web worker is killed
     (SIGKILL) and started again on the same port; clients reconnect, subscribe with
     `after` = the last seq they saw and send again what was not acknowledged, with the same
     client id.
   Throughout: per socket the seqs arrive in increasing order (order kept), no message
   twice (duplicates), every acknowledged message reaches every other member (losses),
   and the database holds exactly one row per client id sent.
3. Inbox list (per run): the owner's `GET /api/v1/conversations` (first page, session
   cookie) against the no-op `GET /api/v1/ping` on the same server, `--requests` each at
   `--concurrency`: p50/p99 (target p99 < 50 ms).
`--parts ws,inbox` picks the measurements. Loopback only. The load average is printed
before and after every run (bench/_runs.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _runs import Runs, add_arguments

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:54329/bench_messaging"
PREFIX = "bench_dm_"
OWNER = "bench_dm_owner"
ECHO_PATH = "/ws/bench/conversation-echo/"  # bench/messaging_asgi.py
MESSAGES_PATH = "/ws/messages/"
INBOX_PATH = "/api/v1/conversations"
PING_PATH = "/api/v1/ping"


def django_setup(env: dict[str, str]) -> None:
    """Django in this process, on the benchmark's database (the clients stay in asyncio:
    Django is only touched between phases)."""
    os.environ.update(env)
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


# --- data ---------------------------------------------------------------------------------


def seed(members: int, group_size: int, inbox: int, history: int = 3) -> dict[str, Any]:
    """`members` people in conversations of `group_size`, and the inbox owner with `inbox`
    one-to-one conversations of `history` messages each (with members, then with extra
    people when there are fewer members). Everything through bulk_create."""
    from datetime import date, timedelta

    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.accounts.usernames import skeleton
    from apps.core.ids import allocate_ids
    from apps.messaging.models import Conversation, Message, Participant

    started = time.monotonic()
    if User.objects.filter(username=OWNER).exists():
        return {"seeded": False}
    now = timezone.now()
    people = max(members, inbox)
    password = make_password(None)
    with transaction.atomic():
        names = [OWNER] + [f"{PREFIX}{i}" for i in range(people)]
        users = [User(pk=pk, username=name, username_skeleton=skeleton(name),
                      email=f"{name}@bench.invalid", password=password,
                      date_of_birth=date(1990, 1, 1), display_name=name)
                 for pk, name in zip(allocate_ids(len(names)), names, strict=True)]
        User.objects.bulk_create(users, batch_size=2000)
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users],
            batch_size=2000)
        owner, others = users[0], users[1:]
        groups = members // group_size
        conversations = [
            Conversation(pk=pk, kind=Conversation.Kind.GROUP, name=f"bench group {g}",
                         created_by=others[g * group_size])
            for g, pk in enumerate(allocate_ids(groups))]
        directs = [
            Conversation(pk=pk, kind=Conversation.Kind.DIRECT, created_by=owner,
                         direct_key=":".join(map(str, sorted((owner.pk, others[i].pk)))),
                         last_seq=history, last_message_at=now - timedelta(minutes=i))
            for i, pk in enumerate(allocate_ids(inbox))]
        Conversation.objects.bulk_create(conversations + directs, batch_size=2000)
        rows = [Participant(conversation=c, user=others[g * group_size + k],
                            role=Participant.Role.ADMIN if k == 0 else Participant.Role.MEMBER,
                            accepted_at=now, last_activity_at=now)
                for g, c in enumerate(conversations) for k in range(group_size)]
        for i, c in enumerate(directs):
            at = now - timedelta(minutes=i)
            rows += [Participant(conversation=c, user=owner, accepted_at=now,
                                 last_read_seq=history - 1, unread_count=1,
                                 last_activity_at=at),
                     Participant(conversation=c, user=others[i], accepted_at=now,
                                 last_read_seq=history, last_activity_at=at)]
        for row, pk in zip(rows, allocate_ids(len(rows)), strict=True):
            row.pk = pk
        Participant.objects.bulk_create(rows, batch_size=2000)
        messages = [Message(conversation=c, sender=owner if s % 2 else others[i],
                            client_id=f"seed-{c.pk}-{s}", body=f"message {s} of {i}",
                            seq=s, change_seq=s)
                    for i, c in enumerate(directs) for s in range(1, history + 1)]
        for message, pk in zip(messages, allocate_ids(len(messages)), strict=True):
            message.pk = pk
        Message.objects.bulk_create(messages, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"seeded": True, "users": len(users), "groups": groups, "inbox": inbox,
            "seconds": round(time.monotonic() - started, 1)}


def reset_groups() -> None:
    """The group conversations as seeded: no messages, seqs from 0 (each run the same)."""
    from django.db import connection

    from apps.messaging.models import Conversation, Message, Participant

    groups = Conversation.objects.filter(kind=Conversation.Kind.GROUP, name__startswith="bench")
    with connection.cursor() as cursor:
        ids = list(groups.values_list("pk", flat=True))
        for table in ("messaging_reaction", "messaging_hiddenmessage"):
            cursor.execute(f"DELETE FROM {table} WHERE message_id IN (SELECT id FROM "
                           "messaging_message WHERE conversation_id = ANY(%s))", [ids])
        Message.objects.filter(conversation_id__in=ids).delete()
    groups.update(last_seq=0, last_message_at=None)
    Participant.objects.filter(conversation_id__in=ids).update(
        last_read_seq=0, unread_count=0)


@dataclass
class Member:
    uid: int
    token: str
    conversation: int


def members_with_sessions(limit: int) -> list[Member]:
    """Every seeded group member (conversation by conversation), an app session each (the
    X-Session-Token a mobile client sends)."""
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from apps.messaging.models import Participant

    rows = list(Participant.objects.filter(
        conversation__kind="group", conversation__name__startswith="bench",
        state=Participant.State.ACTIVE).select_related("user")
        .order_by("conversation_id", "pk")[:limit])
    store = SessionStore()
    expires = timezone.now() + timedelta(hours=6)
    sessions = [Session(session_key=get_random_string(32), expire_date=expires,
                        session_data=store.encode({
                            SESSION_KEY: str(p.user_id),
                            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                            HASH_SESSION_KEY: p.user.get_session_auth_hash()}))
                for p in rows]
    Session.objects.bulk_create(sessions, batch_size=2000)
    return [Member(p.user_id, s.session_key, p.conversation_id)
            for p, s in zip(rows, sessions, strict=True)]


def owner_cookie() -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User

    owner = User.objects.get(username=OWNER)
    session = SessionStore()
    session[SESSION_KEY] = str(owner.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = owner.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def stored_rows(conversation_ids: list[int], client_ids: set[str]) -> dict[str, int]:
    """How many rows the database holds for each client id the clients sent."""
    from django.db.models import Count

    from apps.messaging.models import Message

    counts = (Message.objects.filter(conversation_id__in=conversation_ids,
                                     client_id__in=list(client_ids))
              .values("client_id").annotate(n=Count("id")))
    return {row["client_id"]: row["n"] for row in counts}


# --- the clients --------------------------------------------------------------------------


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
            self.connected.clear()
            delay = 0.2
            while not self.closing:
                await asyncio.sleep(delay * (0.5 + random.random()))
                try:
                    await self.connect()
                    break
                except (TimeoutError, OSError, websockets.WebSocketException):
                    self.ws = None
                    delay = min(10.0, delay * 2)  # 5,000 at once: spread the retries

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
                         tally: Tally) -> dict[str, Any]:
    """One message in flight per conversation for `seconds`: messages/s delivered."""
    by_conversation: dict[int, list[Client]] = defaultdict(list)
    for c in clients:
        by_conversation[c.member.conversation].append(c)
    stop = time.perf_counter() + seconds
    complete = 0

    async def loop(members: list[Client]) -> None:
        nonlocal complete
        for turn in itertools.count():
            if time.perf_counter() >= stop:
                return
            client_id, body = bodies.next()
            await members[turn % len(members)].send(client_id, body)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(tally.done[client_id].wait(),
                                       max(0.1, stop - time.perf_counter()) + 30)
                if time.perf_counter() <= stop:
                    complete += 1

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
                continue
            duplicated += len(times) - 1
            latencies.append(times[0] - tally.sent_at[client_id])
    return {"messages": len(client_ids), "latencies": latencies, "lost": lost,
            "duplicated": duplicated, "unacked": unacked}


# --- the benchmark ------------------------------------------------------------------------


@dataclass
class WsSettings:
    rate: float = 100.0
    seconds: float = 30.0
    capacity_seconds: float = 20.0
    settle: float = 60.0
    restart: bool = True


async def ws_endpoint(server: Any, members: list[Member], path: str, echo: bool,
                      opts: WsSettings, tag: str,
                      on_db: Callable[[Callable[..., Any]], Any]) -> dict[str, Any]:
    """Every member's socket on `path`; the capacity and paced phases, and (real endpoint,
    `opts.restart`) the paced phase with the web worker killed and started mid-way."""
    port = server.port
    tally = Tally()
    groups = group_members_of(members)
    clients = [Client(m, f"ws://127.0.0.1:{port}{path}", port, tally, groups, echo)
               for m in members]
    out: dict[str, Any] = {}
    try:
        out["connect_s"], out["connect_failed"] = await connect_all(clients)
        await asyncio.sleep(1.0)  # subscriptions (and their empty replays) done
        bodies = Bodies(tag)
        cpu = server_cpu_s(server.pid)
        capacity = await capacity_phase(clients, bodies, opts.capacity_seconds, tally)
        await settle(tally, list(tally.sent_at), opts.settle)
        capacity["cpu_ms"] = (server_cpu_s(server.pid) - cpu) * 1e3 / max(1, len(tally.sent_at))
        out["capacity"] = capacity
        print(f"  {path}: {len(clients):,} sockets connected in {out['connect_s']:.0f} s; "
              f"capacity {capacity['per_s']:,.1f} messages/s, server CPU "
              f"{capacity['cpu_ms']:.1f} ms a message", flush=True)
        first = len(tally.sent_at)
        cpu = server_cpu_s(server.pid)
        await paced_phase(clients, bodies, opts.rate, opts.seconds)
        paced_ids = list(tally.sent_at)[first:]
        await settle(tally, paced_ids, opts.settle)
        out["paced"] = verdict(tally, paced_ids, groups)
        out["paced"]["cpu_ms"] = (server_cpu_s(server.pid) - cpu) * 1e3 / max(1, len(paced_ids))
        p50, p99, _ = ms(out["paced"]["latencies"])
        print(f"  {path}: paced {opts.rate:g}/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms, lost "
              f"{out['paced']['lost']}, duplicated {out['paced']['duplicated']}", flush=True)
        if opts.restart and not echo:
            first = len(tally.sent_at)
            timeline: dict[str, float] = {}

            def restart() -> None:
                timeline["killed"] = time.perf_counter()
                os.killpg(server.pid, signal.SIGKILL)
                server.proc.wait(timeout=30)
                server.proc = None
                server.start(timeout=180)
                timeline["serving"] = time.perf_counter()

            reconnects_before = tally.reconnects
            await paced_phase(clients, bodies, opts.rate, opts.seconds, at_half=restart)
            restart_ids = list(tally.sent_at)[first:]
            await settle(tally, restart_ids, opts.settle * 2)
            back_by = time.perf_counter() + 1200
            while (not all(c.connected.is_set() for c in clients)
                   and time.perf_counter() < back_by):
                await asyncio.sleep(0.1)
            timeline["all_back"] = time.perf_counter()
            out["restart"] = verdict(tally, restart_ids, groups)
            out["restart"]["back_s"] = timeline["all_back"] - timeline["killed"]
            out["restart"]["not_back"] = sum(1 for c in clients if not c.connected.is_set())
            out["restart"]["down_s"] = timeline["serving"] - timeline["killed"]
            out["restart"]["reconnects"] = tally.reconnects - reconnects_before
        out["out_of_order"] = tally.out_of_order
        out["refused"] = tally.refused[:3]
        out["refused_count"] = len(tally.refused)
        if not echo:
            sent = set(tally.sent_at)
            rows = await asyncio.to_thread(on_db, lambda: stored_rows(list(groups), sent))
            out["db_missing"] = sum(1 for c in sent if rows.get(c, 0) == 0)
            out["db_duplicated"] = sum(n - 1 for n in rows.values() if n > 1)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return out


def bench_server(port: int, env: dict[str, str], log_name: str) -> Any:
    """uvicorn as `make run` (api_latency.Server), serving bench/messaging_asgi.py."""
    from api_latency import Server

    server = Server(port, env, BASE_DIR / "var" / "bench" / log_name)
    at = server.argv.index("swipeme_site.asgi:application")
    server.argv[at:at + 1] = ["--app-dir", str(BASE_DIR / "bench"), "messaging_asgi:application"]
    return server


def report_ws(run: Any, name: str, result: dict[str, Any], opts: WsSettings) -> None:
    capacity = result["capacity"]
    paced = result["paced"]
    p50, p99, top = ms(paced["latencies"])
    print(f"{name}: sockets connected in {result['connect_s']:.1f} s ("
          f"{result['connect_failed']} handshakes failed the first time); capacity "
          f"{capacity['per_s']:,.1f} messages/s "
          f"delivered ({capacity['deliveries_per_s']:,.0f} deliveries/s; server CPU "
          f"{capacity['cpu_ms']:.1f} ms a message); paced "
          f"{opts.rate:g}/s for {opts.seconds:g} s: {paced['messages']:,} messages, delivery "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {top:.0f} ms; lost {paced['lost']}, "
          f"duplicated {paced['duplicated']}, unacknowledged {paced['unacked']}, server CPU "
          f"{paced['cpu_ms']:.1f} ms a message; out of order "
          f"{result['out_of_order']}; refused {result['refused_count']} {result['refused']}",
          flush=True)
    run.figure(f"{name} capacity messages/s", capacity["per_s"])
    run.figure(f"{name} server CPU ms/message", capacity["cpu_ms"], "ms")
    run.figure(f"{name} paced p50 ms", p50, "ms")
    run.figure(f"{name} paced p99 ms", p99, "ms")
    if "restart" in result:
        restart = result["restart"]
        r50, r99, rmax = ms(restart["latencies"])
        print(f"{name} across a restart (SIGKILL, down {restart['down_s']:.1f} s, every "
              f"socket back {restart['back_s']:.0f} s after the kill, {restart['not_back']} "
              f"not back; {restart['reconnects']:,} reconnects): {restart['messages']:,} "
              f"messages, "
              f"lost {restart['lost']}, duplicated {restart['duplicated']}, unacknowledged "
              f"{restart['unacked']}; delivery p50 {r50:.0f} ms, p99 {r99:.0f} ms, max "
              f"{rmax:.0f} ms; database: {result['db_missing']} sent but not stored, "
              f"{result['db_duplicated']} stored twice", flush=True)
        run.figure(f"{name} restart lost", restart["lost"])
        run.figure(f"{name} restart duplicated", restart["duplicated"])
        run.figure(f"{name} restart p99 ms", r99, "ms")
        run.figure(f"{name} restart down s", restart["down_s"], "s")
    if "db_missing" in result:
        run.figure(f"{name} lost", paced["lost"] + result.get("restart", {}).get("lost", 0)
                   + result["db_missing"])
        run.figure(f"{name} duplicated", paced["duplicated"] + result["db_duplicated"]
                   + result.get("restart", {}).get("duplicated", 0))
        run.figure(f"{name} out of order", result["out_of_order"])


def ws_part(run: Any, env: dict[str, str], members: list[Member], opts: WsSettings,
            nofile: int, tag: str, endpoints: list[str]) -> dict[str, Any]:
    from api_latency import free_port

    if 2 * len(members) + 200 > nofile:
        print(f"WARNING: RLIMIT_NOFILE {nofile} is short for {len(members)} sockets each side",
              flush=True)
    from django.db import close_old_connections

    def on_db(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        finally:
            close_old_connections()

    port = free_port()
    server = bench_server(port, env, "messaging-ws-server.log")
    server.start()
    results: dict[str, Any] = {}
    try:
        for name in endpoints:
            echo = name == "echo"
            results[name] = asyncio.run(ws_endpoint(
                server, members, ECHO_PATH if echo else MESSAGES_PATH, echo, opts,
                f"{tag}{name[0]}", on_db))
            report_ws(run, name, results[name], opts)
    finally:
        server.stop()
    if len(results) == 2:
        real, echo = results["messages"], results["echo"]
        run.ratio("messages/echo server CPU per message", real["capacity"]["cpu_ms"],
                  echo["capacity"]["cpu_ms"])
        run.ratio("messages/echo capacity messages/s", real["capacity"]["per_s"],
                  echo["capacity"]["per_s"])
        run.ratio("messages/echo paced p99", ms(real["paced"]["latencies"])[1],
                  ms(echo["paced"]["latencies"])[1])
    return results


def inbox_part(run: Any, env: dict[str, str], requests: int, concurrency: int,
               cookie: str) -> dict[str, tuple[float, float]]:
    from api_latency import free_port, percentile
    from notifications import http_get, latencies

    port = free_port()
    server = bench_server(port, env, "messaging-inbox-server.log")
    server.start()
    figures: dict[str, tuple[float, float]] = {}
    try:
        for name, path, with_cookie in (("ping", PING_PATH, ""),
                                        ("inbox", INBOX_PATH, cookie)):
            request = http_get(path, port, with_cookie)
            asyncio.run(latencies(port, request, requests=min(200, requests),
                                  concurrency=concurrency))  # warm-up
            spent, statuses = asyncio.run(latencies(port, request, requests=requests,
                                                    concurrency=concurrency))
            p50, p99 = percentile(spent, 50), percentile(spent, 99)
            print(f"{name:<6} GET {path}: {len(spent)} requests, statuses {statuses}, "
                  f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
            if set(statuses) != {200}:
                print(f"WARNING: {name} answered {statuses}", flush=True)
            figures[name] = (p50, p99)
            run.figure(f"{name} p50 ms", p50, "ms")
            run.figure(f"{name} p99 ms", p99, "ms")
    finally:
        server.stop()
    run.ratio("inbox/ping p99", figures["inbox"][1], figures["ping"][1])
    return figures


def bench_env(database_url: str, redis_db: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DJANGO_DEBUG="0",
               DATABASE_URL=database_url, DJANGO_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               REDIS_URL=f"redis://127.0.0.1:56379/{redis_db}",
               SWIPEME_THROTTLE_ANON_READ="100000000/min")
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_runs=3)
    parser.add_argument("--small", action="store_true",
                        help="200 members in 20 conversations, an inbox of 100 (a try)")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--group-size", type=int, default=10)
    parser.add_argument("--inbox", type=int, default=None)
    parser.add_argument("--rate", type=float, default=None, help="paced messages/s in all")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--capacity-seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=60.0)
    parser.add_argument("--no-restart", action="store_true")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--database-url", default=None,
                        help=f"default {DEFAULT_DB} (with --small: ..._small)")
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--parts", default="ws,inbox",
                        help="which measurements, comma-separated: ws, inbox")
    parser.add_argument("--endpoints", default="echo,messages",
                        help="which websocket endpoints, comma-separated: echo, messages")
    args = parser.parse_args()
    args.database_url = args.database_url or os.environ.get(
        "BENCH_MESSAGING_DATABASE_URL", DEFAULT_DB + ("_small" if args.small else ""))
    parts = set(args.parts.split(","))
    members_count = args.members or (200 if args.small else 5000)
    inbox = args.inbox or (100 if args.small else 1000)
    opts = WsSettings(rate=args.rate or (20.0 if args.small else 100.0), seconds=args.seconds,
                      capacity_seconds=args.capacity_seconds, settle=args.settle,
                      restart=not args.no_restart)

    from notifications import raise_nofile
    from search_speed import ensure_database

    env = bench_env(args.database_url, args.redis_db)
    print(f"messaging bench: {members_count:,} members in conversations of "
          f"{args.group_size}, inbox of {inbox:,}; database {args.database_url}", flush=True)
    ensure_database(args.database_url, recreate=not args.reuse, env=env)
    django_setup(env)
    print(f"seed: {seed(members_count, args.group_size, inbox)}", flush=True)
    members = members_with_sessions(members_count)
    cookie = owner_cookie()
    nofile = raise_nofile()
    runs = Runs("messaging", args)
    for run in runs:
        if "ws" in parts:
            reset_groups()
            ws_part(run, env, members, opts, nofile, f"r{run.index}-{os.getpid()}",
                    args.endpoints.split(","))
        if "inbox" in parts:
            inbox_part(run, env, args.requests, args.concurrency, cookie)
    runs.summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
