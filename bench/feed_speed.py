"""Feed speed: For You and Following against the no-op endpoint, on one server, one run.

    .venv/bin/python bench/feed_speed.py                 # needs the seeded bench database
    .venv/bin/python bench/feed_speed.py --duration 10 --concurrency 8

Prerequisite (once, a few minutes): a separate database seeded with 100,000 posts, 10,000
users and 1,000,000 watch aggregates, and a trained ranker:

    psql -h 127.0.0.1 -p 54329 -U postgres -c 'CREATE DATABASE bench_reco'   (not made here)
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/bench_reco \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python manage.py feed_seed_bench
    DATABASE_URL=... .venv/bin/python bench/reco_offline.py     # trains and activates

What it does: starts uvicorn (one worker, dev settings with DEBUG off, the bench database,
its own Redis logical db) as `make run` would; logs in 16 seeded users over the allauth
app API; then, with N keep-alive connections (one user each, one request in flight):
`GET /api/v1/ping` (no-op DRF view), `GET /api/v1/feed/for-you?limit=8` (signed in: the
full stack with the active model; each user scrolls, so the seen-set grows), and
`GET /api/v1/feed/following?limit=8` for `bench_follower`, who follows 2,000 accounts.
Each endpoint is measured first with one connection (latency: p50/p99 without queueing in
the single worker), then with N connections (throughput). Prints requests/s, p50/p99,
server CPU per request and the ratios to the no-op. The users keep scrolling, so after
their first page For You mostly re-ranks their scored candidates (see
apps/feed/scored_cache.py); a second server with SWIPEME_FEED_SCORED_TTL=0 then measures
the no-op and For You with every page scored (each page costs what a first page does).
Then EXPLAIN ANALYZE of the Following query. The load generator shares the 2 cores with the
server, PostgreSQL and Redis: compare ratios, not absolute numbers.

`--scored-only` measures only that second server (the no-op and For You with every page
scored from scratch, in the same run): the short run for work on a first page's cost.

`--runs N` (default 3; each run starts both servers afresh and takes about 2.5 minutes at
the default durations) repeats the measurement and ends with the median of each figure and
ratio over the runs, with the min-max, the load average before and after each run and a
warning for runs started on a busy machine (bench/_runs.py; `--json out.json` writes
them). `--runs 1` is the single run of before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))

from _runs import Run, Runs, add_arguments  # noqa: E402
from api_latency import (  # noqa: E402
    HOST,
    Connection,
    HttpError,
    Server,
    free_port,
    percentile,
    process_cpu_seconds,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:54329/bench_reco"
PASSWORD = "correct-horse-battery"


def build(path: str, port: int, token: str | None) -> bytes:
    auth = f"X-Session-Token: {token}\r\n" if token else ""
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: swipeme-bench\r\n"
            f"Accept: application/json\r\n{auth}Connection: keep-alive\r\n\r\n").encode()


@dataclass
class Phase:
    latencies_ns: list[int] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    posts: int = 0  # feed posts in the 200 answers
    empty: int = 0  # 200 answers without a post
    first: int = 0  # 200 answers that were the viewer's first request of this path here


@dataclass
class Visits:
    """Per server and path: the viewers already sent (a For You page is dearer the first
    time a viewer asks a server process: its per-viewer reads are cold), and where the next
    phase starts in the viewers' order (`--fresh-viewers`)."""

    seen: set[str | None] = field(default_factory=set)
    offset: int = 0


POST_ITEM = b'"type":"post"'


async def run_phase(port: int, path: str, tokens: list[str | None], *, duration: float,
                    timeout: float, connections: int | None = None,
                    visits: Visits | None = None) -> Phase:
    """`connections` keep-alive clients (default: one per token), each sending one request
    at a time and taking its tokens in turn (client i: tokens i, i + n, ...), so that no
    viewer scrolls so far that For You runs out of unseen posts (it does after ~120 pages).
    With `visits`, the tokens start at `visits.offset` (moved past the requests sent) and
    each answer is counted as a viewer's first or not."""
    phase = Phase()
    deadline = time.perf_counter() + duration
    n = connections or len(tokens)
    if visits is not None and tokens:
        start = visits.offset % len(tokens)
        tokens = tokens[start:] + tokens[:start]
    sent = 0

    async def client(mine: list[str | None]) -> None:
        nonlocal sent
        conn = Connection(port, timeout)
        requests = [build(path, port, token) for token in mine]
        turn = 0
        try:
            while time.perf_counter() < deadline:
                token = mine[turn % len(requests)]
                request = requests[turn % len(requests)]
                turn += 1
                sent += 1
                first = visits is not None and token not in visits.seen
                if visits is not None:
                    visits.seen.add(token)
                t0 = time.perf_counter_ns()
                try:
                    status, body = await conn.get(request)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, HttpError,
                        ValueError) as exc:
                    phase.errors[type(exc).__name__] = phase.errors.get(type(exc).__name__,
                                                                        0) + 1
                    continue
                phase.latencies_ns.append(time.perf_counter_ns() - t0)
                phase.statuses[status] = phase.statuses.get(status, 0) + 1
                if status == 200:
                    posts = body.count(POST_ITEM)
                    phase.posts += posts
                    phase.empty += posts == 0
                    phase.first += first
        finally:
            await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(tokens[i::n]) for i in range(n)))
    phase.elapsed = time.perf_counter() - began
    if visits is not None:
        visits.offset += sent
    return phase


@dataclass
class Row:
    name: str
    requests: int
    rps: float
    p50: float
    p99: float
    cpu_ms: float
    problems: list[str]
    posts_per_page: float = float("nan")
    first_share: float = float("nan")  # of the measured answers, viewers' first here


async def measure(name: str, path: str, tokens: list[str | None], port: int, pid: int,
                  args: argparse.Namespace, connections: int, visits: Visits) -> Row:
    """`visits`: this server's for `path` (the warm-up, the probe and earlier phases
    included). With `--fresh-viewers` each phase starts where the last one stopped in the
    viewers' order; otherwise every phase starts again at the first viewer (as before)."""
    conn = Connection(port, max(args.timeout, 180.0))  # the first call loads the pools
    probe = tokens[visits.offset % len(tokens)] if args.fresh_viewers else tokens[0]
    status, body = await conn.get(build(path, port, probe))
    visits.seen.add(probe)
    visits.offset += 1 if args.fresh_viewers else 0
    await conn.close()
    if status != 200:
        return Row(name, 0, float("nan"), float("nan"), float("nan"), float("nan"),
                   [f"probe answered {status}: {body[:200]!r}"])
    print(f"  {name}: warm-up {args.warmup:g}s, measuring {args.duration:g}s ...", flush=True)
    if not args.fresh_viewers:
        visits.offset = 0
    await run_phase(port, path, tokens, duration=args.warmup, timeout=args.timeout,
                    connections=connections, visits=visits)
    if not args.fresh_viewers:
        visits.offset = 0
    cpu0 = process_cpu_seconds(pid)
    phase = await run_phase(port, path, tokens, duration=args.duration, timeout=args.timeout,
                            connections=connections, visits=visits)
    cpu = process_cpu_seconds(pid) - cpu0
    ok = phase.statuses.get(200, 0)
    lat = sorted(phase.latencies_ns)
    problems = []
    bad = {s: n for s, n in phase.statuses.items() if s != 200}
    if bad:
        problems.append(f"non-200 answers {bad}")
    if phase.errors:
        problems.append(f"transport errors {phase.errors}")
    if "/feed/" in path and phase.empty:
        # An empty page costs far less than a full one: the figure would not be a page's.
        problems.append(f"{phase.empty} of {ok} pages had no post")
    return Row(name, ok, ok / phase.elapsed, percentile(lat, 50), percentile(lat, 99),
               cpu * 1000 / max(ok, 1), problems, phase.posts / max(ok, 1),
               phase.first / max(ok, 1))


def django_python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        sys.exit(f"failed:\n{done.stdout}{done.stderr}")
    return done.stdout


CHECK = """
import django; django.setup()
from apps.content.models import Post
from apps.feed.models import RankerModel, PostEmbedding
from apps.social.models import Follow
from apps.accounts.models import User
f = User.objects.filter(username="bench_follower").first()
print(Post.objects.count(), PostEmbedding.objects.count(),
      RankerModel.objects.filter(is_active=True).values_list("version", flat=True).first(),
      Follow.objects.filter(follower=f).count() if f else 0)
"""

# App session tokens are Django sessions (allauth headless): made directly for the seeded
# users (whose e-mail addresses are not verified, so the login flow would stop there).
SESSIONS = """
import django; django.setup()
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from apps.accounts.models import User
def token(name):
    user = User.objects.get(username=name)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key
"""

EXPLAIN = """
import django; django.setup()
from django.db import connection
from apps.accounts.models import User
from apps.content.selectors import for_display
from apps.feed.serving import following_posts, with_viewer_flags
viewer = User.objects.get(username="bench_follower")
qs = with_viewer_flags(for_display(following_posts(viewer)), viewer)[:9]
sql, params = qs.query.sql_with_params()
with connection.cursor() as c:
    c.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
    print("\\n".join(r[0] for r in c.fetchall()))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 DEFAULT_DB))
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--users", type=int, default=48,
                        help="seeded viewers the connections take in turn (For You runs out "
                        "of unseen posts after ~120 pages of one viewer)")
    parser.add_argument("--fresh-viewers", action="store_true",
                        help="each phase (warm-up, measured, c=1 then c=N) continues the "
                        "viewers' order where the last one stopped on that server, instead "
                        "of starting again at bench1: with more --users than the pages a "
                        "server answers, every measured page is a viewer's first there")
    parser.add_argument("--scored-only", action="store_true",
                        help="only the second server: the no-op and For You with every page "
                        "scored from scratch (a shorter run)")
    add_arguments(parser, default_runs=3)
    args = parser.parse_args()
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DJANGO_DEBUG="0",
               DATABASE_URL=args.database_url, OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", SWIPEME_THROTTLE_ANON_READ="100000000/min",
               DJANGO_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               REDIS_URL=f"redis://127.0.0.1:56379/{args.redis_db}")
    posts, embedded, version, follows = django_python(CHECK, env).split()
    print(f"bench database: {int(posts):,} posts, {int(embedded):,} embeddings, active ranker "
          f"v{version}, bench_follower follows {int(follows):,} accounts")
    if int(posts) < 1000:
        sys.exit("seed the bench database first (see this script's docstring)")
    # The pools the reco task would have published (the server then only loads them).
    refreshed = subprocess.run([sys.executable, "manage.py", "feed_refresh", "--embed-limit",
                                "0"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                               timeout=900, check=False)
    print(refreshed.stdout.strip() or refreshed.stderr[-2000:])
    names = [f"bench{i}" for i in range(1, max(args.users, args.concurrency) + 1)]
    made = django_python(SESSIONS + f"\nprint(' '.join(token(n) for n in {names!r} + "
                         "['bench_follower']))\nprint(' '.join(str(User.objects.get("
                         f"username=n).pk) for n in {names!r}))", env).splitlines()
    tokens: list[str | None] = list(made[0].split()[:-1])
    follower = made[0].split()[-1]
    viewer_ids = made[1].split()
    runs = Runs("feed_speed", args)
    for one in runs:
        rows: list[Row] = []
        if not args.scored_only:
            forget_seen(args.redis_db, viewer_ids)
            port = free_port()
            server = Server(port, env, BASE_DIR / "var" / "log" / "bench-feed-speed.log")
            server.start()
            try:
                rows = asyncio.run(run_all(args, port, server.pid, [
                    ("ping (no-op)", "/api/v1/ping", lambda n: tokens),
                    ("for-you?limit=8", "/api/v1/feed/for-you?limit=8",
                     lambda n: tokens),
                    ("following (2,000 follows)", "/api/v1/feed/following?limit=8",
                     lambda n: [follower] * n),
                ]))
            finally:
                server.stop()
        # The same For You with every page scored (no reuse of a viewer's scored candidates
        # across pages): what a viewer's first page, or the first after a like, costs.
        cold_env = {**env, "SWIPEME_FEED_SCORED_TTL": "0"}
        forget_seen(args.redis_db, viewer_ids)
        port = free_port()
        server = Server(port, cold_env, BASE_DIR / "var" / "log" / "bench-feed-speed-cold.log")
        server.start()
        try:
            cold = asyncio.run(run_all(args, port, server.pid, [
                ("ping (no-op)", "/api/v1/ping", lambda n: tokens),
                ("for-you, every page scored", "/api/v1/feed/for-you?limit=8",
                 lambda n: tokens),
            ]))
        finally:
            server.stop()
        print()
        print(f"{'endpoint':<34} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'server CPU/req':>15} {'posts/page':>10} {'first visits':>12}")
        for r in rows:
            print(f"{r.name:<34} {r.requests:>9,} {r.rps:>8.1f} {r.p50:>8.1f} {r.p99:>8.1f} "
                  f"{r.cpu_ms:>12.2f} ms {r.posts_per_page:>10.1f} {_first(r):>12}")
        print("every page scored (SWIPEME_FEED_SCORED_TTL=0, a second server):")
        for r in cold:
            print(f"{r.name:<34} {r.requests:>9,} {r.rps:>8.1f} {r.p50:>8.1f} {r.p99:>8.1f} "
                  f"{r.cpu_ms:>12.2f} ms {r.posts_per_page:>10.1f} {_first(r):>12}")
        for r in rows + cold:
            for problem in r.problems:
                print(f"WARNING {r.name}: {problem}")
        for prefix, group in (("", rows[:3]), ("", rows[3:]), ("scored ", cold[:2]),
                              ("scored ", cold[2:])):
            if not group:
                continue
            base = group[0]
            for r in group[1:]:
                print(f"ratio {r.name} / no-op: throughput {r.rps / base.rps:.2f}, "
                      f"p99 {r.p99 / base.p99:.2f}x, server CPU/request "
                      f"{r.cpu_ms / base.cpu_ms:.2f}x")
                if not base.problems and not r.problems:
                    name = f"{prefix}{r.name} / no-op"
                    one.ratio(f"{name} throughput", r.rps, base.rps)
                    one.ratio(f"{name} p99", r.p99, base.p99)
                    one.ratio(f"{name} server CPU/request", r.cpu_ms, base.cpu_ms)
        record(one, rows, cold)
    runs.summary()
    if not args.scored_only:
        print("\nEXPLAIN ANALYZE of the Following page query (bench_follower):")
        print(django_python(EXPLAIN, env))
    return 0


Endpoint = tuple[str, str, Callable[[int], list[str | None]]]  # name, path, tokens for n


def forget_seen(redis_db: int, viewer_ids: list[str]) -> None:
    """Empty the bench viewers' feed seen-sets and explanation logs (in the bench's own
    Redis db), so that every run starts from the same state and no page runs dry."""
    import redis

    client = redis.Redis.from_url(f"redis://127.0.0.1:56379/{redis_db}")
    keys = [f"feed:{kind}:u:{pk}" for pk in viewer_ids for kind in ("seen", "explain")]
    client.delete(*keys)
    client.close()


def _first(row: Row) -> str:
    """The share of a feed row's measured pages that were a viewer's first on the server."""
    return f"{row.first_share:.0%}" if "for-you" in row.name or "following" in row.name \
        else "-"


def record(run: Run, rows: list[Row], cold: list[Row]) -> None:
    for prefix, group in (("", rows), ("scored ", cold)):
        for r in group:
            if not r.problems:
                run.figure(f"{prefix}{r.name} req/s", r.rps)
                run.figure(f"{prefix}{r.name} p50", r.p50, "ms")
                run.figure(f"{prefix}{r.name} p99", r.p99, "ms")
                run.figure(f"{prefix}{r.name} server CPU/request", r.cpu_ms, "ms")
                if _first(r) != "-":
                    run.figure(f"{prefix}{r.name} first visits", 100 * r.first_share, "%")


async def run_all(args: argparse.Namespace, port: int, pid: int,
                  endpoints: list[Endpoint]) -> list[Row]:
    """Latency with one connection (no queueing in the single worker), then throughput
    with `--concurrency` connections, for each endpoint in turn."""
    rows = []
    visits: dict[str, Visits] = {}
    for n in (1, args.concurrency):
        for name, path, tokens_for in endpoints:
            rows.append(await measure(f"c={n} {name}", path, tokens_for(n), port, pid, args,
                                      n, visits.setdefault(path, Visits())))
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
