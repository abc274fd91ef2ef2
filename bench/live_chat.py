"""Live chat (issue 18, "Benchmarks"): `--viewers` (2,000) sockets in one live's chat,
`--rate` (50) messages/s with moderation on: delivery p50/p99 against a bare Channels echo
room measured in the same run, on the same number of sockets at the same rate.

    flock /tmp/helpers/bench.lock .venv/bin/python bench/live_chat.py --reuse --runs 3
    .venv/bin/python bench/live_chat.py --small --runs 1      # 200 viewers at 10/s, a try
    .venv/bin/python bench/live_chat.py --quick               # 20 viewers, 2/s, 5 s: runs?

1. A dedicated database (`--database-url`, default `bench_live_chat`; its name must contain
   "bench"), migrated, seeded (kept with --reuse): a host on air (a LiveStream in state
   "live" made with the ORM: no ingest), `--senders` signed-in viewers with app sessions,
   and a staff term list ("scumbag": block) so the term lists and the classifier both run.
2. Per run, one uvicorn as `make run` serving bench/live_chat_asgi.py (production plus a
   bare Channels echo room, `ws/bench/live-echo/`, which production routing never has).
   Phases, the echo's first, then the real `ws/live/<id>/`, each on fresh sockets:
   - `--viewers` sockets: the senders signed in (X-Session-Token), the others signed out,
     as people watching a public live are. The senders' sockets are the sample: they
     decode every frame; the others read every frame and answer pings without decoding it
     (a client process that decoded 100,000 frames/s would measure itself, not the server).
   - `--warmup` s at the rate (the server loads the text classifier on its first message),
     then `--seconds` s paced at `--rate` messages/s in all, round-robin over the senders
     (each under the chat's per-person limits: 5 in 10 s, 20 a minute: at least 4 senders
     per message/s). Every `--hidden-every`-th message carries a term-list word: moderation
     hides it, and it must reach no socket (leaked). The echo sends everything.
   - delivery time: from the send to each sampled socket's receipt, p50/p99 (target p99 <
     500 ms); lost: a shown message a sampled socket had not got `--settle` s after the
     last send; refused: errors answered (rate limits would show here).
   Server CPU per message from /proc.
The load average is printed before and after every run (bench/_runs.py). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from _loop_probe import LoopProbe
from _runs import Runs, add_arguments

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:54329/bench_live_chat"
HOST_NAME = "benchlivehost"
PREFIX = "benchlive"
ECHO_PATH = "/ws/bench/live-echo/"
BARE_PATH = "/ws/bench/live-bare/"
MARK = re.compile(rb'"text": "bench (\d+) ')
MESSAGE_FRAME = b'{"type": "message"'
BATCH_FRAME = b'{"type": "batch"'
ERROR_FRAME = b'{"type": "error"'
CONNECT_PARALLEL = 50


# --- data (Django, between phases only) -------------------------------------------------------


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def seed(senders: int) -> int:
    """The live on air (made once), its senders, the term list; answers the live's id."""
    from datetime import date, timedelta

    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.accounts.usernames import skeleton
    from apps.core.ids import allocate_ids
    from apps.live.models import LiveStream
    from apps.moderation.detection.models import TermList
    from apps.moderation.policies import Policy

    found = LiveStream.objects.filter(host__username=HOST_NAME).first()
    have = User.objects.filter(username__startswith=PREFIX).count()
    with transaction.atomic():
        if found is None:
            host = User.objects.create(
                username=HOST_NAME, username_skeleton=skeleton(HOST_NAME),
                email=f"{HOST_NAME}@bench.invalid", date_of_birth=date(1990, 1, 1),
                date_joined=timezone.now() - timedelta(days=90))
            EmailAddress.objects.create(user=host, email=host.email, verified=True,
                                        primary=True)  # unverified hosts are not shown
            found = LiveStream.objects.create(host=host, title="bench live",
                                              state=LiveStream.State.LIVE,
                                              started_at=timezone.now())
            TermList.objects.create(name="bench slurs", policy=Policy.HATE_HARASSMENT,
                                    terms="scumbag", outcome="block")
        LiveStream.objects.filter(pk=found.pk).update(
            state=LiveStream.State.LIVE, slow_mode_seconds=0, followers_only_chat=False)
        if have < senders:
            password = make_password(None)
            names = [f"{PREFIX}{i}" for i in range(have, senders)]
            users = [User(pk=pk, username=name, username_skeleton=skeleton(name),
                          email=f"{name}@bench.invalid", password=password,
                          date_of_birth=date(1990, 1, 1), display_name=name)
                     for pk, name in zip(allocate_ids(len(names)), names, strict=True)]
            User.objects.bulk_create(users, batch_size=2000)
            EmailAddress.objects.bulk_create(
                [EmailAddress(user=u, email=u.email, verified=True, primary=True)
                 for u in users], batch_size=2000)
    return int(found.pk)


def sender_tokens(senders: int) -> list[str]:
    """An app session (X-Session-Token) for each sender."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User

    tokens = []
    for user in User.objects.filter(username__startswith=PREFIX).order_by("pk")[:senders]:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        tokens.append(str(session.session_key))
    return tokens


# --- a lean websocket client (RFC 6455, no extensions) -----------------------------------------


@dataclass
class Tally:
    sent: dict[int, float] = field(default_factory=dict)  # seq -> when it was sent
    hidden: set[int] = field(default_factory=set)
    got: dict[tuple[int, int], float] = field(default_factory=dict)  # (socket, seq) -> when
    duplicates: int = 0
    leaked: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class Socket:
    def __init__(self, index: int, sample: bool, tally: Tally) -> None:
        self.index = index
        self.sample = sample
        self.tally = tally
        self.ready = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None
        self.port = 0
        self.task: asyncio.Task[None] | None = None

    async def open(self, port: int, path: str, token: str | None) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = f"X-Session-Token: {token}\r\n" if token else ""
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Origin: http://127.0.0.1:{port}\r\n{extra}\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head[:200].decode(errors="replace"))
        self.writer = writer
        self.port = int(writer.get_extra_info("sockname")[1])
        self.task = asyncio.create_task(self._read(reader))

    def write(self, opcode: int, payload: bytes) -> None:
        """A client frame (masked, as RFC 6455 requires of clients)."""
        assert self.writer is not None
        mask = os.urandom(4)
        size = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | size]) if size < 126 else
                                         bytes([0x80 | 126]) + size.to_bytes(2, "big"))
        repeated = (mask * (size // 4 + 1))[:size]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
                  ).to_bytes(size, "big") if size else b""
        self.writer.write(head + mask + masked)

    def send_json(self, frame: dict[str, Any]) -> None:
        self.write(0x1, json.dumps(frame).encode())

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buf = bytearray()
        while True:
            try:
                data = await reader.read(1 << 18)
            except (ConnectionError, OSError):
                return
            if not data:
                return
            buf += data
            pos, end = 0, len(buf)
            while end - pos >= 2:
                size, head = buf[pos + 1] & 0x7F, 2
                if size == 126:
                    if end - pos < 4:
                        break
                    size, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
                elif size == 127:
                    if end - pos < 10:
                        break
                    size, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
                if end - pos < head + size:
                    break
                opcode = buf[pos] & 0x0F
                if opcode == 0x1:
                    self.ready.set()
                    if self.sample:
                        self._text(bytes(buf[pos + head:pos + head + size]))
                elif opcode == 0x9:
                    self.write(0xA, bytes(buf[pos + head:pos + head + size]))
                elif opcode == 0x8:
                    return
                pos += head + size
            del buf[:pos]

    def _text(self, payload: bytes) -> None:
        now = time.monotonic()
        if payload.startswith((MESSAGE_FRAME, BATCH_FRAME)):
            # a batch (the room's coalesced window) carries several messages, in order
            for found in MARK.finditer(payload):
                seq = int(found.group(1))
                if seq in self.tally.hidden:
                    self.tally.leaked += 1
                if (self.index, seq) in self.tally.got:
                    self.tally.duplicates += 1
                else:
                    self.tally.got[(self.index, seq)] = now
        elif payload.startswith(ERROR_FRAME):
            code = str(json.loads(payload).get("code"))
            self.tally.errors[code] = self.tally.errors.get(code, 0) + 1

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.write(0x8, (1000).to_bytes(2, "big"))
                self.writer.close()


async def connect_all(port: int, path: str, viewers: int, tokens: list[str],
                      tally: Tally) -> tuple[list[Socket], float]:
    sockets = [Socket(i, i < len(tokens), tally) for i in range(viewers)]
    gate = asyncio.Semaphore(CONNECT_PARALLEL)
    started = time.monotonic()

    async def one(socket: Socket) -> None:
        async with gate:
            token = tokens[socket.index] if socket.index < len(tokens) else None
            await socket.open(port, path, token)
            await asyncio.wait_for(socket.ready.wait(), 120)

    await asyncio.gather(*(one(s) for s in sockets))
    return sockets, time.monotonic() - started


async def paced(senders: list[Socket], tally: Tally, *, rate: float, seconds: float,
                first_seq: int, hidden_every: int) -> list[int]:
    """Send at `rate`/s for `seconds`; answers the seqs sent."""
    start = time.monotonic()
    seqs: list[int] = []
    i = 0
    while i / rate < seconds:
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        seq = first_seq + i
        hidden = hidden_every > 0 and seq % hidden_every == 0
        words = "you absolute scumbag" if hidden else "what a great stream tonight"
        tally.sent[seq] = time.monotonic()
        if hidden:
            tally.hidden.add(seq)
        senders[i % len(senders)].send_json({"type": "send", "client_id": str(seq),
                                             "text": f"bench {seq} {words}"})
        seqs.append(seq)
        i += 1
    return seqs


def server_cpu_s(pid: int) -> float:
    """CPU seconds of the server's session (uvicorn's supervisor and its workers, all
    threads; the server is started in a session of its own)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == pid:  # the session id
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Options:
    viewers: int
    senders: int
    rate: float
    seconds: float
    warmup: float
    settle: float
    hidden_every: int


class ClientTrace(LoopProbe):
    """`--trace`: the client's own event-loop stalls and garbage collections (a delivery the
    client read late is not the server's), beside the server's trace."""


async def phase(name: str, port: int, path: str, tokens: list[str], opts: Options,
                server_pid: int, trace: Path | None = None) -> dict[str, Any]:
    tally = Tally()
    client_trace = ClientTrace() if trace is not None else None
    sockets, connect_s = await connect_all(port, path, opts.viewers, tokens, tally)
    senders = sockets[:len(tokens)]
    # The client's own full collections walked its 2,000 sockets and the growing tally
    # (0.34-0.46 s each, --trace at load 9): a delivery read late by the client is not
    # the server's. What exists now is never garbage; young passes stay, full ones wait.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 100)
    if client_trace is not None:
        client_trace.start()
    try:
        warm = await paced(senders, tally, rate=opts.rate, seconds=opts.warmup, first_seq=1,
                           hidden_every=opts.hidden_every)
        await asyncio.sleep(2.0)
        cpu = server_cpu_s(server_pid)
        measured = await paced(senders, tally, rate=opts.rate, seconds=opts.seconds,
                               first_seq=(warm[-1] if warm else 0) + 1,
                               hidden_every=opts.hidden_every)
        cpu = server_cpu_s(server_pid) - cpu
        shown = [s for s in measured if s not in tally.hidden]
        expected = [(sock.index, seq) for sock in senders for seq in shown]
        deadline = time.monotonic() + opts.settle
        while time.monotonic() < deadline and any(k not in tally.got for k in expected):
            await asyncio.sleep(0.25)
        times = [(tally.got[k] - tally.sent[k[1]]) * 1000 for k in expected if k in tally.got]
        out = {"connect_s": connect_s, "messages": len(measured), "shown": len(shown),
               "deliveries": len(expected), "lost": len(expected) - len(times),
               "leaked": tally.leaked, "duplicates": tally.duplicates,
               "errors": dict(tally.errors), "p50": percentile(times, 0.50),
               "p95": percentile(times, 0.95), "p99": percentile(times, 0.99),
               "max": max(times) if times else float("nan"),
               "cpu_ms": cpu * 1000 / max(1, len(measured))}
        if trace is not None and client_trace is not None:
            client_trace.stop()
            with open(trace / f"client-{name}.json", "w") as handle:
                json.dump({"sent": tally.sent, "measured": measured,
                           "got": [[sock, seq, at] for (sock, seq), at in tally.got.items()],
                           "ports": [s.port for s in sockets[:len(tokens)]],
                           "stalls": client_trace.stalls, "gcs": client_trace.gcs}, handle)
    finally:
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        gc.unfreeze()  # the next phase freezes its own
    # the echoes have no moderation: they send the "hidden" messages too (not counted)
    leaked = f"leaked {out['leaked']}" if name == "live" else "no moderation"
    print(f"{name}: {opts.viewers:,} sockets connected in {out['connect_s']:.1f} s; "
          f"{out['messages']:,} messages at {opts.rate:g}/s ({out['shown']:,} shown), "
          f"{out['deliveries']:,} sampled deliveries: p50 {out['p50']:.0f} ms, p95 "
          f"{out['p95']:.0f} ms, p99 "
          f"{out['p99']:.0f} ms, max {out['max']:.0f} ms; lost {out['lost']}, {leaked}, "
          f"duplicated {out['duplicates']}, refused {out['errors']}; server "
          f"CPU {out['cpu_ms']:.1f} ms a message", flush=True)
    return out


def bench_env(database_url: str, redis_db: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DJANGO_DEBUG="0",
               DATABASE_URL=database_url, DJANGO_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               REDIS_URL=f"redis://127.0.0.1:56379/{redis_db}")
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_runs=3)
    parser.add_argument("--small", action="store_true", help="200 viewers at 10/s (a try)")
    parser.add_argument("--quick", action="store_true",
                        help="20 viewers at 2/s for 5 s, one run: does it run at all")
    parser.add_argument("--viewers", type=int, default=None)
    parser.add_argument("--senders", type=int, default=None,
                        help="signed-in viewers who send (and are sampled); default 4x rate")
    parser.add_argument("--rate", type=float, default=None, help="messages/s in all")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--hidden-every", type=int, default=20,
                        help="every Nth message carries a term-list word (0: none)")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--endpoints", default="echo,live",
                        help="phases in order, of: echo (the live room's fan-out without "
                        "the chat's work: the ratio's baseline), live, bare (a bare "
                        "Channels echo, one channel per socket)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes (uvicorn --workers; each keeps one relay "
                        "per room)")
    parser.add_argument("--coalesce-ms", type=int, default=None,
                        help="the rooms' coalescing window (default: the production one)")
    parser.add_argument("--gc-default", action="store_true",
                        help="the server keeps CPython's garbage collector settings (no "
                        "core.socket_gc tuning: an A/B's before)")
    parser.add_argument("--trace", type=Path, default=None, metavar="DIR",
                        help="write where each delivery waited into DIR (server.json: the "
                        "echo room's relay, windows and socket writes; client-<phase>.json: "
                        "sends, receipts, the client's loop stalls and collections)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="cProfile the server's event loop into this file (1 worker)")
    args = parser.parse_args()
    if args.quick:
        args.small = True  # its database
        args.runs = 1
        args.viewers = args.viewers or 20
        args.rate = args.rate or 2.0
        args.seconds, args.warmup, args.settle = 5.0, 4.0, 5.0
        args.hidden_every = 4  # some of the few measured messages are hidden too
    rate = args.rate or (10.0 if args.small else 50.0)
    opts = Options(viewers=args.viewers or (200 if args.small else 2000),
                   senders=args.senders or max(4, int(rate * 4)), rate=rate,
                   seconds=args.seconds, warmup=args.warmup, settle=args.settle,
                   hidden_every=args.hidden_every)
    database_url = args.database_url or os.environ.get(
        "BENCH_LIVE_CHAT_DATABASE_URL", DEFAULT_DB + ("_small" if args.small else ""))

    from api_latency import Server, free_port
    from notifications import raise_nofile
    from search_speed import ensure_database

    env = bench_env(database_url, args.redis_db)
    if args.coalesce_ms is not None:
        env["BENCH_LIVE_CHAT_COALESCE_MS"] = str(args.coalesce_ms)
    if args.profile is not None:
        env["BENCH_LIVE_CHAT_PROFILE"] = str(args.profile.resolve())
    if args.gc_default:
        env["BENCH_LIVE_CHAT_GC_DEFAULT"] = "1"
    if args.trace is not None:
        args.trace.mkdir(parents=True, exist_ok=True)
        env["BENCH_LIVE_CHAT_TRACE"] = str(args.trace.resolve())
    print(f"live chat bench: {opts.viewers:,} viewers ({opts.senders} sending), "
          f"{opts.rate:g} messages/s; {args.workers} server process(es); coalescing "
          f"{args.coalesce_ms if args.coalesce_ms is not None else 'default'} ms; "
          f"GC {'CPython defaults' if args.gc_default else 'tuned (core.socket_gc)'}; "
          f"database {database_url}", flush=True)
    ensure_database(database_url, recreate=not args.reuse, env=env)
    django_setup(env)
    live_id = seed(opts.senders)
    tokens = sender_tokens(opts.senders)
    nofile = raise_nofile()
    if 2 * opts.viewers + 200 > nofile:
        print(f"WARNING: RLIMIT_NOFILE {nofile} is short for {opts.viewers} sockets each side",
              flush=True)
    paths = {"echo": ECHO_PATH, "bare": BARE_PATH, "live": f"/ws/live/{live_id}/"}
    runs = Runs("live_chat", args)
    for run in runs:
        # the bench's own Redis db: no group members or presence left by an earlier run
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
        server = Server(free_port(), env, BASE_DIR / "var" / "bench" / "live_chat_server.log")
        at = server.argv.index("swipeme_site.asgi:application")
        server.argv[at:at + 1] = ["--app-dir", str(BASE_DIR / "bench"),
                                  "live_chat_asgi:application"]
        server.argv[server.argv.index("--workers") + 1] = str(args.workers)
        server.start()
        results: dict[str, dict[str, Any]] = {}
        try:
            for name in args.endpoints.split(","):
                results[name] = asyncio.run(phase(name, server.port, paths[name], tokens,
                                                  opts, server.pid, args.trace))
                result = results[name]
                run.figure(f"{name} p50 ms", result["p50"], "ms")
                run.figure(f"{name} p95 ms", result["p95"], "ms")
                run.figure(f"{name} p99 ms", result["p99"], "ms")
                run.figure(f"{name} lost", result["lost"])
                run.figure(f"{name} server CPU ms/message", result["cpu_ms"], "ms")
                if name == "live":
                    run.figure("live leaked (hidden yet delivered)", result["leaked"])
        finally:
            server.stop()
        if {"echo", "live"} <= set(results):
            for q in ("p50", "p95", "p99"):
                run.ratio(f"live/echo {q}", results["live"][q], results["echo"][q])
    runs.summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
