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
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _runs import Runs, add_arguments
from messaging_clients import (
    Bodies,
    Client,
    Tally,
    capacity_phase,
    connect_all,
    group_members_of,
    ms,
    paced_phase,
    server_cpu_s,
    settle,
    verdict,
)
from messaging_data import (
    Member,
    members_with_sessions,
    owner_cookie,
    reset_groups,
    seed,
    stored_rows,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:54329/bench_messaging"
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


# --- the benchmark ------------------------------------------------------------------------


@dataclass
class WsSettings:
    rate: float = 100.0
    seconds: float = 30.0
    capacity_seconds: float = 20.0
    settle: float = 60.0
    restart: bool = True
    in_flight: int = 32
    trace: str = ""  # the server's trace file (bench/messaging_trace.py), "" for none


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
    began = time.perf_counter()

    def at() -> str:  # where the run is: a full-size run must fit a bench-lock turn
        return f"[t+{time.perf_counter() - began:.0f} s]"

    try:
        cpu = server_cpu_s(server.pid)
        out["connect_s"], out["connect_failed"] = await connect_all(clients)
        await asyncio.sleep(1.0)  # subscriptions (and their empty replays) done
        # the server's CPU per socket connected and subscribed (handshake, auth, presence,
        # subscribe read): what a reconnect storm costs per socket
        out["connect_cpu_ms"] = (server_cpu_s(server.pid) - cpu) * 1e3 / max(1, len(clients))
        bodies = Bodies(tag)
        cpu = server_cpu_s(server.pid)
        capacity = await capacity_phase(clients, bodies, opts.capacity_seconds, tally,
                                        opts.in_flight)
        await settle(tally, list(tally.sent_at), opts.settle)
        capacity["cpu_ms"] = (server_cpu_s(server.pid) - cpu) * 1e3 / max(1, len(tally.sent_at))
        out["capacity"] = capacity
        print(f"  {at()} {path}: {len(clients):,} sockets connected in {out['connect_s']:.0f} s "
              f"({out['connect_cpu_ms']:.1f} ms of server CPU each); capacity "
              f"{capacity['per_s']:,.1f} messages/s, server CPU "
              f"{capacity['cpu_ms']:.1f} ms a message", flush=True)
        first = len(tally.sent_at)
        cpu = server_cpu_s(server.pid)
        await paced_phase(clients, bodies, opts.rate, opts.seconds)
        paced_ids = list(tally.sent_at)[first:]
        await settle(tally, paced_ids, opts.settle)
        out["paced"] = verdict(tally, paced_ids, groups)
        out["paced"]["cpu_ms"] = (server_cpu_s(server.pid) - cpu) * 1e3 / max(1, len(paced_ids))
        p50, p99, _ = ms(out["paced"]["latencies"])
        print(f"  {at()} {path}: paced {opts.rate:g}/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms, lost "
              f"{out['paced']['lost']}, duplicated {out['paced']['duplicated']}", flush=True)
        if opts.trace and not echo:
            from messaging_trace import analyse

            print("\n".join(analyse(opts.trace, tally.sent_at, tally.got, paced_ids)),
                  flush=True)
        if opts.restart and not echo:
            first = len(tally.sent_at)
            timeline: dict[str, float] = {}

            def restart() -> None:
                timeline["killed"] = time.perf_counter()
                os.killpg(server.pid, signal.SIGKILL)
                server.proc.wait(timeout=30)
                server.proc = None
                watcher = threading.Thread(target=listening, daemon=True)
                watcher.start()
                # the first worker's log is kept (start() truncates its log file)
                server.log_path = server.log_path.with_name(
                    server.log_path.stem + "-after-restart.log")
                server.start(timeout=300)
                timeline["serving"] = time.perf_counter()
                watcher.join(timeout=5)

            def listening() -> None:
                """When the new worker's port accepts (its /healthz may answer later:
                the reconnecting sockets are served first)."""
                while time.perf_counter() - timeline["killed"] < 300:
                    with contextlib.suppress(OSError), socket.create_connection(
                            ("127.0.0.1", port), timeout=0.5):
                        timeline["listening"] = time.perf_counter()
                        return
                    time.sleep(0.05)

            reconnects_before = tally.reconnects
            back_first = len(tally.back_at)
            await paced_phase(clients, bodies, opts.rate, opts.seconds, at_half=restart)
            restart_ids = list(tally.sent_at)[first:]
            # every socket back first, then the settle: a message sent while a member was
            # away reaches them with their resubscribe's replay, which a settle counted from
            # the kill (5,000 sockets back in minutes) would have called lost
            back_by = time.perf_counter() + 1200
            while (not all(c.connected.is_set() for c in clients)
                   and time.perf_counter() < back_by):
                await asyncio.sleep(0.1)
            timeline["all_back"] = time.perf_counter()
            await settle(tally, restart_ids, opts.settle)
            out["restart"] = verdict(tally, restart_ids, groups)
            out["restart"]["back_s"] = timeline["all_back"] - timeline["killed"]
            out["restart"]["not_back"] = sum(1 for c in clients if not c.connected.is_set())
            out["restart"]["down_s"] = timeline["serving"] - timeline["killed"]
            listening_at = timeline.get("listening", timeline["serving"])
            out["restart"]["listening_s"] = listening_at - timeline["killed"]
            back = sorted(t - listening_at for t in tally.back_at[back_first:])
            out["restart"]["back_p50_s"] = back[len(back) // 2] if back else float("nan")
            out["restart"]["back_p99_s"] = (back[min(len(back) - 1, int(len(back) * 0.99))]
                                            if back else float("nan"))
            print(f"  {at()} {path}: restart done, every socket back "
                  f"{out['restart']['back_s']:.0f} s after the kill", flush=True)
            out["restart"]["reconnects"] = tally.reconnects - reconnects_before
        # a delivery missing at its phase's verdict that came by the end of the run (a late
        # announcement, or the replay of a resubscribe after the restart): late, not lost
        for phase in ("paced", "restart"):
            if phase in out:
                out[phase]["late"] = sum(1 for key in out[phase]["missing"] if tally.got.get(key))
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
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {top:.0f} ms; lost {paced['lost']} "
          f"({paced.get('late', 0)} of them came later in the run), "
          f"duplicated {paced['duplicated']}, unacknowledged {paced['unacked']}, server CPU "
          f"{paced['cpu_ms']:.1f} ms a message; out of order "
          f"{result['out_of_order']}; refused {result['refused_count']} {result['refused']}",
          flush=True)
    run.figure(f"{name} connect server CPU ms/socket", result["connect_cpu_ms"], "ms")
    run.figure(f"{name} capacity messages/s", capacity["per_s"])
    run.figure(f"{name} server CPU ms/message", capacity["cpu_ms"], "ms")
    run.figure(f"{name} paced p50 ms", p50, "ms")
    run.figure(f"{name} paced p99 ms", p99, "ms")
    if "restart" in result:
        restart = result["restart"]
        r50, r99, rmax = ms(restart["latencies"])
        print(f"{name} across a restart (SIGKILL; the new worker listening "
              f"{restart['listening_s']:.1f} s after the kill, /healthz answering after "
              f"{restart['down_s']:.1f} s; every socket back {restart['back_s']:.0f} s after "
              f"the kill, {restart['not_back']} not back; {restart['reconnects']:,} "
              f"reconnects, back p50 {restart['back_p50_s']:.1f} s / p99 "
              f"{restart['back_p99_s']:.1f} s after listening): {restart['messages']:,} "
              f"messages, "
              f"lost {restart['lost']} ({restart.get('late', 0)} of them came later), "
              f"duplicated {restart['duplicated']}, unacknowledged "
              f"{restart['unacked']}; delivery p50 {r50:.0f} ms, p99 {r99:.0f} ms, max "
              f"{rmax:.0f} ms; database: {result['db_missing']} sent but not stored, "
              f"{result['db_duplicated']} stored twice", flush=True)
        run.figure(f"{name} restart lost", restart["lost"])
        run.figure(f"{name} restart duplicated", restart["duplicated"])
        run.figure(f"{name} restart p99 ms", r99, "ms")
        run.figure(f"{name} restart down s", restart["down_s"], "s")
        run.figure(f"{name} restart listening s", restart["listening_s"], "s")
        run.figure(f"{name} restart all back s", restart["back_s"], "s")
        run.figure(f"{name} restart back p99 s", restart["back_p99_s"], "s")
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

    if opts.trace:
        Path(opts.trace).write_text("")
        env = {**env, "SWIPEME_BENCH_TRACE": opts.trace}
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
    parser.add_argument("--in-flight", type=int, default=32,
                        help="capacity phase: messages in flight in all (one a conversation)")
    parser.add_argument("--no-restart", action="store_true")
    parser.add_argument("--trace", default="", help="a file for the server's trace of each "
                        "send and delivery, loop lags and collections; the paced phase's "
                        "stages are printed (bench/messaging_trace.py)")
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
                      restart=not args.no_restart, in_flight=args.in_flight,
                      trace=str(Path(args.trace).resolve()) if args.trace else "")

    from notifications import raise_nofile
    from search_speed import ensure_database

    env = bench_env(args.database_url, args.redis_db)
    print(f"messaging bench: {members_count:,} members in conversations of "
          f"{args.group_size}, inbox of {inbox:,}; database {args.database_url}", flush=True)
    ensure_database(args.database_url, recreate=not args.reuse, env=env)
    django_setup(env)
    began = time.perf_counter()
    print(f"seed: {seed(members_count, args.group_size, inbox)}", flush=True)
    members = members_with_sessions(members_count)
    cookie = owner_cookie()
    nofile = raise_nofile()  # before the server starts: it inherits the limit
    print(f"set-up {time.perf_counter() - began:.1f} s ({len(members):,} app sessions minted "
          f"in bulk; RLIMIT_NOFILE {nofile:,})", flush=True)
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
