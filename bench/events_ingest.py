"""Event ingest: events per second through POST /api/v1/events into the event log, against a
no-op POST endpoint on the same server, in one run, for batches of 1, 50 and 500 events.

    .venv/bin/python manage.py services run -- .venv/bin/python bench/events_ingest.py
    .venv/bin/python bench/events_ingest.py --duration 8 --concurrency 8   # services up

What it does, in order:

1. `manage.py migrate` on the dev database (`swipeme_site.settings.dev`, the embedded
   PostgreSQL/Redis or DATABASE_URL/REDIS_URL), then creates (or reuses) the user
   `bench_events` with a verified e-mail.
2. Starts uvicorn as `make run` does (`--workers 1 --no-access-log --lifespan off --ws
   websockets`, dev settings) on a free 127.0.0.1 port, but serving `events_ingest:
   application` from this file: the project's ASGI application with one extra URL,
   `POST /bench/noop-events`, the baseline. The baseline has the same authentication as
   the events endpoint, reads and parses the JSON body, and answers with the number of
   events: what any endpoint receiving the batch pays. The events throttle is raised
   (SWIPEME_THROTTLE_EVENTS) for this server so that the run measures ingest, not 429s.
3. Logs `bench_events` in through allauth's app API (a real session token), then for each
   batch size, for the no-op and then the events endpoint: one probe that must answer 200,
   a warm-up, and a measured phase of fixed duration. Every request carries fresh client
   event ids (nothing is a duplicate), a realistic mix of types, and the token.
4. Prints requests/s, events/s, p50/p99 latency, server CPU per request and per event, and
   the ratios events/no-op. Afterwards it deletes the bench user's dedupe markers; the
   stream entries stay (they name one published post of `bench_events`, created once:
   the ingest drops events about posts the viewer may not see, so a made-up post id would
   measure dropped batches; a running analytics consumer counts them on that post) and are
   trimmed by the stream's MAXLEN like any others.
5. The consumer side, in one process (`--consumer-entries`, 0 skips it): appends entries
   of real events about 50 posts of `bench_events` (created once) to a bench stream, and
   times `apps.analytics.services.events_consume` draining them (upserts, applied-entry
   rows, Redis features) against a loop that only reads and acks as many entries. The
   bench streams, markers and the bench posts' aggregates are deleted afterwards.
6. Repeats 3-5 `--runs` times (default 5) on the same server and ends with the median of
   each figure and ratio over the runs, with the min-max, the load average before and
   after each run, and a warning for runs started on a busy machine (bench/_runs.py;
   `--json out.json` writes them). `--runs 1` is the single run of before.

The load generator (HTTP/1.1 keep-alive on asyncio streams, from bench/api_latency.py)
runs on the same machine: read the ratios and the server CPU per event.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _runs import Run, Runs, add_arguments

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SETTINGS = "swipeme_site.settings.dev"
THROTTLE_EVENTS = "100000000/min"
USERNAME = "bench_events"
PASSWORD = "correct-horse-battery-bench"
EVENTS_PATH = "/api/v1/events"
NOOP_PATH = "/bench/noop-events"


# --- served by uvicorn: the project's application plus the no-op endpoint ------------------


def _urlpatterns() -> list[Any]:
    from django.urls import include, path
    from rest_framework.permissions import AllowAny
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from apps.events.api.views import EventsApi, load_envelope

    class NoopEventsApi(APIView):
        """The baseline: same authentication as the events endpoint, parses the body."""

        authentication_classes = EventsApi.authentication_classes
        permission_classes = [AllowAny]
        throttle_classes: list[type] = []

        def post(self, request: Request) -> Response:
            events = load_envelope(request._request).get("events") or []
            return Response({"accepted": len(events), "duplicates": 0, "rejected": []})

    return [path(NOOP_PATH.lstrip("/"), NoopEventsApi.as_view()),
            path("", include("swipeme_site.urls"))]


def __getattr__(name: str) -> Any:
    """uvicorn imports `events_ingest:application`; Django then imports this module again
    as the URLconf (`urlpatterns`). Built lazily so that running the script does not set
    Django up."""
    if name == "application":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
        from django.conf import settings

        settings.ROOT_URLCONF = __name__
        from swipeme_site.asgi import application

        return application
    if name == "urlpatterns":
        return _urlpatterns()
    if name in ("handler404", "handler500"):
        return {"handler404": "apps.core.views.api_not_found",
                "handler500": "apps.core.views.api_server_error"}[name]
    raise AttributeError(name)


# --- the load ---------------------------------------------------------------------------


def event_template(batch: int, post_id: str) -> str:
    """A JSON body with `batch` events whose ids contain @@P@@, replaced per request."""
    now = int(time.time() * 1000)
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("impression", {}), ("play_start", {}),
        ("watch_progress", {"watched_ms": 4000, "duration_ms": 15000, "position_ms": 4000}),
        ("watch_end", {"watched_ms": 9000, "duration_ms": 15000, "loops": 0}),
        ("skip", {"watched_ms": 400, "duration_ms": 12000}), ("like", {}),
        ("qoe", {"ttff_ms": 320, "rebuffer_count": 0, "rebuffer_ms": 0, "bitrate_kbps": 2400,
                 "network_type": "wifi"}),
    ]
    events = []
    for i in range(batch):
        kind, data = kinds[i % len(kinds)]
        events.append({"id": f"b-@@P@@-{i}", "type": kind, "ts": now,
                       "session_id": "bench-session", "post_id": post_id, "data": data})
    return json.dumps({"events": events}, separators=(",", ":"))


@dataclass
class Phase:
    latencies_ns: list[int] = field(default_factory=list)
    ok: int = 0
    events: int = 0
    bad: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0


def build_post(path: str, port: int, token: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: swipeme-bench\r\n"
            f"Content-Type: application/json\r\nX-Session-Token: {token}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
            ).encode("ascii") + body


async def run_phase(port: int, path: str, token: str, template: str, batch: int, *,
                    concurrency: int, duration: float, timeout: float, counter: list[int],
                    run_id: str, max_requests: int | None = None) -> Phase:
    import api_latency as al

    phase = Phase()
    deadline = time.perf_counter() + duration
    budget = [max_requests if max_requests is not None else sys.maxsize]

    async def client() -> None:
        conn = al.Connection(port, timeout)
        try:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                counter[0] += 1
                body = template.replace("@@P@@", f"{run_id}-{counter[0]}").encode()
                request = build_post(path, port, token, body)
                started = time.perf_counter_ns()
                try:
                    status, raw = await conn.get(request)  # sends any raw request
                except (OSError, asyncio.IncompleteReadError, TimeoutError, al.HttpError,
                        ValueError) as exc:
                    phase.bad[type(exc).__name__] = phase.bad.get(type(exc).__name__, 0) + 1
                    continue
                phase.latencies_ns.append(time.perf_counter_ns() - started)
                if status != 200:
                    phase.bad[str(status)] = phase.bad.get(str(status), 0) + 1
                    continue
                accepted = json.loads(raw)["accepted"]
                if accepted != batch:
                    phase.bad["not all accepted"] = phase.bad.get("not all accepted", 0) + 1
                phase.ok += 1
                phase.events += accepted
        finally:
            await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    phase.elapsed = time.perf_counter() - began
    return phase


@dataclass
class Result:
    endpoint: str
    batch: int
    requests: int = 0
    rps: float = float("nan")
    eps: float = float("nan")
    p50: float = float("nan")
    p99: float = float("nan")
    cpu_per_request_ms: float = float("nan")
    cpu_per_event_us: float = float("nan")
    problems: list[str] = field(default_factory=list)


async def measure(name: str, path: str, batch: int, port: int, pid: int, token: str,
                  args: argparse.Namespace, counter: list[int], run_id: str) -> Result:
    import api_latency as al

    template = event_template(batch, args.post_id)
    common = {"concurrency": args.concurrency, "timeout": args.timeout, "counter": counter,
              "run_id": run_id}
    probe = await run_phase(port, path, token, template, batch, duration=args.timeout,
                            max_requests=1, **common)  # type: ignore[arg-type]
    if probe.ok != 1 or probe.bad:
        return Result(name, batch, problems=[f"probe failed: {probe.bad}"])
    print(f"  {name:<6} batch {batch:>3}: warm-up {args.warmup:g}s, measuring "
          f"{args.duration:g}s ...", flush=True)
    await run_phase(port, path, token, template, batch, duration=args.warmup,
                    **common)  # type: ignore[arg-type]
    cpu = al.process_cpu_seconds(pid)
    phase = await run_phase(port, path, token, template, batch, duration=args.duration,
                            **common)  # type: ignore[arg-type]
    cpu = al.process_cpu_seconds(pid) - cpu
    latencies = sorted(phase.latencies_ns)
    result = Result(
        name, batch, requests=phase.ok, rps=phase.ok / phase.elapsed,
        eps=phase.events / phase.elapsed, p50=al.percentile(latencies, 50),
        p99=al.percentile(latencies, 99), cpu_per_request_ms=cpu * 1000 / max(1, phase.ok),
        cpu_per_event_us=cpu * 1e6 / max(1, phase.events))
    if phase.bad:
        result.problems.append(f"failures {phase.bad}")
    return result


# --- set-up and report --------------------------------------------------------------------

PREPARE_USER = f"""
import django
django.setup()
from allauth.account.models import EmailAddress
from apps.accounts.models import User
from datetime import date
user = User.objects.filter(username={USERNAME!r}).first()
if user is None:
    user = User(username={USERNAME!r}, email="{USERNAME}@example.com",
                date_of_birth=date(1990, 1, 1))
    from apps.accounts.usernames import skeleton
    user.username_skeleton = skeleton({USERNAME!r})
user.set_password({PASSWORD!r})
user.save()
EmailAddress.objects.update_or_create(user=user, email=user.email,
                                      defaults={{"verified": True, "primary": True}})
# The events name a published post of this user: the ingest drops events about posts the
# viewer may not see (one query per batch), so a made-up id would measure dropped batches.
from django.utils import timezone
from apps.content.models import Post
from apps.media.models import MediaAsset
post = Post.objects.filter(author=user, status=Post.Status.PUBLISHED).order_by("id").first()
if post is None:
    asset = MediaAsset.objects.create(owner=user, state=MediaAsset.State.READY,
                                      duration_ms=15000, width=720, height=1280,
                                      playable_at=timezone.now())
    post = Post.objects.create(author=user, asset=asset, caption="bench",
                               status=Post.Status.PUBLISHED, published_at=timezone.now())
print(user.pk, post.pk)
"""

CONSUMER = """
import sys, time, json
import django
django.setup()
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from apps.accounts.models import User
from apps.analytics import services
from apps.analytics.models import AppliedEntry, PostHourlyStats, PostRetention, UserPostStats
from apps.analytics.models import CreatorDailyStats
from apps.content.models import Post
from apps.events import services as ingest
from apps.events.log import DEDUPE_PREFIX, RedisStreamEventLog
from apps.media.models import MediaAsset

entries, batch = int(sys.argv[1]), int(sys.argv[2])
user = User.objects.get(username=sys.argv[3])
posts = list(Post.objects.filter(author=user).order_by("id").values_list("id", flat=True)[:50])
while len(posts) < 50:
    asset = MediaAsset.objects.create(owner=user, state=MediaAsset.State.READY,
                                      duration_ms=15000, width=720, height=1280,
                                      playable_at=timezone.now())
    posts.append(Post.objects.create(author=user, asset=asset, caption="bench",
                                     status=Post.Status.PUBLISHED,
                                     published_at=timezone.now()).pk)
kinds = [("impression", {}), ("play_start", {}),
         ("watch_progress", {"watched_ms": 4000, "duration_ms": 15000}),
         ("watch_end", {"watched_ms": 9000, "duration_ms": 15000, "loops": 0}),
         ("completion", {}), ("skip", {"watched_ms": 400, "duration_ms": 15000}),
         ("like", {}), ("qoe", {"ttff_ms": 300, "rebuffer_count": 1})]
now = int(time.time() * 1000)
run = str(now)


def fill(stream):
    log = RedisStreamEventLog(stream=stream)
    log.client.delete(stream)
    for n in range(entries):
        events = [{"id": f"c-{run}-{stream[-4:]}-{n}-{i}", "type": kinds[i % len(kinds)][0],
                   "ts": now, "session_id": f"s{n % 7}",
                   "post_id": str(posts[(n * 7 + i) % len(posts)]),
                   "data": kinds[i % len(kinds)][1]} for i in range(batch)]
        # half the batches from the bench user, half from signed-out sessions
        signed_in = n % 2 == 0
        result = ingest.events_ingest(user_id=user.pk if signed_in else None,
                                      viewer=user if signed_in else AnonymousUser(),
                                      events=events, client={}, log=log)
        assert result.accepted == batch, result
    return log


def cleanup(log):
    log.client.delete(log.stream)
    for key in log.client.scan_iter(match=DEDUPE_PREFIX + "*c-" + run + "-*", count=5000):
        log.client.delete(key)


# baseline: a consumer that only reads and acks (the log's own cost)
log = fill("events:{log}:bench-noop")
started, cpu = time.perf_counter(), time.process_time()
done = 0
while True:
    got = log.read(group="bench", consumer="noop", count=100)
    if not got:
        break
    log.ack(group="bench", entry_ids=[e.entry_id for e in got])
    done += len(got)
noop_wall, noop_cpu = time.perf_counter() - started, time.process_time() - cpu
assert done == entries, done
cleanup(log)

log = fill("events:{log}:bench-agg")
started, cpu = time.perf_counter(), time.process_time()
report = services.events_consume(log=log, group="bench", consumer="agg", max_entries=entries)
agg_wall, agg_cpu = time.perf_counter() - started, time.process_time() - cpu
assert report.applied == entries and report.events == entries * batch, report
cleanup(log)
# the bench posts' aggregates go, so that runs do not pile up
UserPostStats.objects.filter(post_id__in=posts).delete()
PostHourlyStats.objects.filter(post_id__in=posts).delete()
PostRetention.objects.filter(post_id__in=posts).delete()
CreatorDailyStats.objects.filter(creator_id=user.pk).delete()
AppliedEntry.objects.filter(stream=log.stream).delete()
print(json.dumps({"noop_wall": noop_wall, "noop_cpu": noop_cpu, "agg_wall": agg_wall,
                  "agg_cpu": agg_cpu, "events": entries * batch}))
"""


CLEANUP = """
import django, sys
django.setup()
from apps.events.log import DEDUPE_PREFIX, STREAM_KEY, redis_client
r = redis_client()
n = 0
for key in r.scan_iter(match=DEDUPE_PREFIX + "u:" + sys.argv[1] + ":b-*", count=5000):
    n += r.delete(key)
print(n, r.xlen(STREAM_KEY))
"""


def python(code: str, *argv: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        sys.exit(f"failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def login(port: int) -> str:
    body = json.dumps({"username": USERNAME, "password": PASSWORD}).encode()
    request = urllib.request.Request(f"http://{HOST}:{port}/_allauth/app/v1/auth/login",
                                     data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
        token: str = json.loads(response.read())["meta"]["session_token"]
        return token


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"


def record(run: Run, results: list[Result]) -> None:
    by = {(r.endpoint, r.batch): r for r in results}
    for r in results:
        if not r.problems:
            run.figure(f"{r.endpoint} batch {r.batch} events/s", r.eps)
            run.figure(f"{r.endpoint} batch {r.batch} p50", r.p50, "ms")
            run.figure(f"{r.endpoint} batch {r.batch} server CPU/request",
                       r.cpu_per_request_ms, "ms")
            run.figure(f"{r.endpoint} batch {r.batch} server CPU/event", r.cpu_per_event_us,
                       "us")
    for batch in sorted({r.batch for r in results}):
        noop, real = by.get(("no-op", batch)), by.get(("events", batch))
        if noop and real and not noop.problems and not real.problems:
            run.ratio(f"events/no-op batch {batch} events/s", real.eps, noop.eps)
            run.ratio(f"events/no-op batch {batch} p50", real.p50, noop.p50)
            run.ratio(f"events/no-op batch {batch} server CPU/request",
                      real.cpu_per_request_ms, noop.cpu_per_request_ms)


def report(results: list[Result]) -> None:
    print()
    print(f"{'endpoint':<8} {'batch':>5} {'requests':>9} {'req/s':>8} {'events/s':>10} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'srv cpu/req':>12} {'srv cpu/event':>14}")
    print("-" * 92)
    for r in results:
        print(f"{r.endpoint:<8} {r.batch:>5} {r.requests:>9,} {fmt(r.rps):>8} "
              f"{fmt(r.eps, 0):>10} {fmt(r.p50, 2):>8} {fmt(r.p99, 2):>8} "
              f"{fmt(r.cpu_per_request_ms, 2) + ' ms':>12} "
              f"{fmt(r.cpu_per_event_us, 0) + ' us':>14}")
    print()
    for r in results:
        for problem in r.problems:
            print(f"WARNING {r.endpoint} batch {r.batch}: {problem}")
    by = {(r.endpoint, r.batch): r for r in results}
    for batch in sorted({r.batch for r in results}):
        noop, real = by.get(("no-op", batch)), by.get(("events", batch))
        if noop and real and not noop.problems and not real.problems:
            print(f"ratio events/no-op at batch {batch:>3}: events/s {real.eps / noop.eps:.3f}  "
                  f"p50 {real.p50 / noop.p50:.2f}x  server CPU/request "
                  f"{real.cpu_per_request_ms / noop.cpu_per_request_ms:.2f}x")
        else:
            print(f"ratio at batch {batch}: not computed (see warnings)")


async def run_all(args: argparse.Namespace, port: int, pid: int, token: str
                  ) -> list[Result]:
    counter = [0]
    run_id = f"{int(time.time())}"
    results = []
    for batch in args.batches:
        for name, path in (("no-op", NOOP_PATH), ("events", EVENTS_PATH)):
            results.append(await measure(name, path, batch, port, pid, token, args, counter,
                                         run_id))
    return results


def consumer_phase(args: argparse.Namespace, env: dict[str, str], run: Run) -> None:
    """The aggregation side, in one process: entries appended to a bench stream, then
    drained by `events_consume` (Postgres upserts, applied-entry rows, Redis features)
    against a consumer that only reads and acks the same number of entries."""
    print(f"\nconsumer: {args.consumer_entries} entries x {args.consumer_batch} events on 50 "
          f"posts of {USERNAME} (half signed-in, half sessions), own stream and group ...",
          flush=True)
    figures = json.loads(python(CONSUMER, str(args.consumer_entries), str(args.consumer_batch),
                                USERNAME, env=env))
    events = figures["events"]
    print(f"{'consumer':<22} {'events':>8} {'wall s':>8} {'events/s':>10} {'cpu/event':>10}")
    for name, wall, cpu in (("read+ack only", figures["noop_wall"], figures["noop_cpu"]),
                            ("events_consume", figures["agg_wall"], figures["agg_cpu"])):
        print(f"{name:<22} {events:>8,} {wall:>8.2f} {events / wall:>10,.0f} "
              f"{cpu * 1e6 / events:>8.1f} us")
    print(f"ratio events_consume/read+ack: events/s "
          f"{figures['noop_wall'] / figures['agg_wall']:.3f}  (client CPU only: Postgres and "
          "Redis work is in their own processes)")
    run.figure("consumer events_consume events/s", events / figures["agg_wall"])
    run.figure("consumer read+ack events/s", events / figures["noop_wall"])
    run.figure("consumer events_consume CPU/event", figures["agg_cpu"] * 1e6 / events, "us")
    run.ratio("events_consume/read+ack events/s", figures["noop_wall"], figures["agg_wall"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per "
                        "endpoint and batch size (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (default 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections "
                        "(default 8)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 50, 500])
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--no-prepare", action="store_true", help="skip migrate")
    parser.add_argument("--consumer-entries", type=int, default=200, help="log entries for "
                        "the consumer phase (0 skips it; default 200)")
    parser.add_argument("--consumer-batch", type=int, default=50, help="events per entry in "
                        "the consumer phase (default 50)")
    add_arguments(parser, default_runs=5)
    args = parser.parse_args()
    sys.path.insert(0, str(BASE_DIR / "bench"))
    import api_latency as al

    env = dict(os.environ, DJANGO_SETTINGS_MODULE=SETTINGS, PYTHONUNBUFFERED="1",
               SWIPEME_THROTTLE_EVENTS=THROTTLE_EVENTS, PYTHONPATH=str(BASE_DIR))
    env.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    print("SwipeMe event ingest benchmark")
    print(f"machine: {os.cpu_count()} CPU core(s), shared by the server, PostgreSQL, Redis "
          "and this load generator")
    print(f"server:  uvicorn events_ingest:application (swipeme_site.asgi + {NOOP_PATH}) "
          f"--workers 1 --no-access-log --lifespan off --ws websockets, {SETTINGS}, "
          f"SWIPEME_THROTTLE_EVENTS={THROTTLE_EVENTS}")
    print(f"load:    {args.concurrency} connections, token-authenticated, batches "
          f"{args.batches}, {args.warmup:g}s warm-up + {args.duration:g}s per phase")
    if not args.no_prepare:
        step = al.manage("migrate", "--no-input", "--verbosity", "0", env=env)
        if step.returncode != 0:
            sys.exit(f"migrate failed:\n{step.stdout}{step.stderr}")
    user_id, args.post_id = python(PREPARE_USER, env=env).split()
    Path(env.get("SWIPEME_STATIC_ROOT", BASE_DIR / "staticfiles")).mkdir(parents=True,
                                                                         exist_ok=True)
    port = al.free_port()
    server = al.Server(port, env, BASE_DIR / "var" / "log" / "bench-events-web.log")
    server.argv = [sys.executable, "-m", "uvicorn", "events_ingest:application",
                   "--app-dir", str(BASE_DIR / "bench"), "--host", HOST, "--port", str(port),
                   "--workers", "1", "--no-access-log", "--lifespan", "off",
                   "--ws", "websockets"]

    def on_signal(signum: int, _frame: object) -> None:
        server.stop()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    runs = Runs("events_ingest", args)
    try:
        server.start()
        token = login(port)
        print(f"server up on http://{HOST}:{port}/ (log: {server.log_path})", flush=True)
        runner: Any = asyncio.run
        with contextlib.suppress(ImportError):
            import uvloop

            runner = uvloop.run
        for one in runs:
            results = runner(run_all(args, port, server.pid, token))
            report(results)
            record(one, results)
            # The consumer runs in its own process; the idle server costs nothing meanwhile.
            if args.consumer_entries > 0:
                consumer_phase(args, env, one)
    finally:
        server.stop()
    print(f"\nload average after the run: {os.getloadavg()[0]:.2f} (1 min)")
    runs.summary()
    removed, length = python(CLEANUP, user_id, env=env).split()
    print(f"\ncleanup: {removed} dedupe markers of {USERNAME} deleted; the stream holds "
          f"{length} entries (capped by EVENTS_STREAM_MAXLEN)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
