"""Notifications (issue 14, "Benchmarks"): the new-post fan-out and the inbox read, each
against a baseline measured in the same run.

    make bench-notifications          # 1,000,000 followers, medians of --runs (default 1)
    .venv/bin/python bench/notifications.py --small --runs 1   # a try in a minute or two

1. A dedicated database (`--database-url`, default `bench_notifications`; its name must
   contain "bench"), migrated; a creator with `--followers` followers who all turned on
   post notifications ("all"), written with COPY (one template row per table, its COPY
   text line repeated with fresh ids/names: no row goes through the ORM). Kept with --reuse.
2. Fan-out (per run): a plain multi-row INSERT of the same notification rows (one
   recipient each, batches of `--batch`, the same table and indexes) is the baseline;
   then the table is emptied and the real job runs: `services.fanout.new_post_fan_out`
   (keyset batches, event keys, rules, seqs, checkpoint, one delivery task per batch
   sent to the bench's own Redis db). Notifications per second of both, their ratio
   (target >= 1/3), and the worker's resident memory after the first batch, mid-way and at
   the end plus its peak (flat = the batches do not accumulate).
3. Inbox read (per run): one user with `--inbox` notifications; uvicorn started as
   `make run` does (bench/api_latency.py's Server) on the bench database; GET
   /api/v1/notifications (the first page, signed in by session cookie) against the no-op
   GET /api/v1/ping, `--requests` each at `--concurrency`: p50/p99 (target p99 < 50 ms).

The websocket figure of the issue (5,000 sockets) is not measured here yet.
Loopback only. The load average is printed before and after every run (bench/_runs.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _runs import Runs, add_arguments

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:54329/bench_notifications"
CREATOR = "bench_creator"
READER = "bench_reader"


# --- worker processes (Django set up on the bench database) ------------------------------


def django_setup() -> None:
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def rss_mb() -> float:
    """The current resident set (not the peak), from /proc."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def copy_like(table: str, template_pk: int, count: int, vary: dict[str, Any]) -> None:
    """COPY `count` rows into `table`: the template row's COPY text line with the columns
    of `vary` replaced by vary[column](i) for i in 0..count-1."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} LIMIT 0")
        columns = [d.name for d in cursor.description]
        raw = cursor.connection  # psycopg 3
        with raw.cursor() as pg:
            with pg.copy(f"COPY (SELECT * FROM {table} WHERE id = {template_pk}) "
                         "TO STDOUT") as out:
                template = b"".join(bytes(part) for part in out).decode().rstrip("\n")
            fields_of_template = template.split("\t")
            where = {columns.index(c): fn for c, fn in vary.items()}
            with pg.copy(f"COPY {table} FROM STDIN") as copy:
                chunk: list[str] = []
                for i in range(count):
                    fields = list(fields_of_template)
                    for at, fn in where.items():
                        fields[at] = str(fn(i))
                    chunk.append("\t".join(fields))
                    if len(chunk) == 10000:
                        copy.write("\n".join(chunk) + "\n")
                        chunk = []
                if chunk:
                    copy.write("\n".join(chunk) + "\n")


def worker_seed(params: dict[str, Any]) -> dict[str, Any]:
    django_setup()
    from allauth.account.models import EmailAddress
    from django.db import connection, transaction

    from apps.accounts.models import User
    from apps.content.models import Post
    from apps.media.models import MediaAsset
    from apps.notifications.models import CreatorPostSubscription
    from apps.social.models import Follow

    followers = int(params["followers"])
    creator = User.objects.filter(username=CREATOR).first()
    if creator is not None and CreatorPostSubscription.objects.filter(
            creator=creator).count() == followers:
        return {"seeded": False}
    if creator is not None:
        sys.exit("the bench database holds another size: run without --reuse")
    started = time.monotonic()
    with transaction.atomic():
        creator = User.objects.create_user(username=CREATOR, email="creator@bench.invalid",
                                           password=None)
        # the creator's posts are seen only once they proved an address (discoverable_q)
        EmailAddress.objects.create(user=creator, email=creator.email, verified=True,
                                    primary=True)
        User.objects.create_user(username=READER, email="reader@bench.invalid", password=None)
        fan = User.objects.create_user(username="bench_fan_t", email="fan_t@bench.invalid",
                                       password=None)
        follow = Follow.objects.create(follower=fan, followee=creator)
        sub = CreatorPostSubscription.objects.create(user=fan, creator=creator, level="all")
        asset = MediaAsset.objects.create(owner=creator, state=MediaAsset.State.READY,
                                          duration_ms=15_000, width=1080, height=1920)
        Post.objects.create(author=creator, asset=asset, caption="bench",
                            status=Post.Status.PUBLISHED, visibility=Post.Visibility.PUBLIC)
        first = fan.pk + 1_000_000  # above every id handed out so far, in follower order
        copy_like("accounts_user", fan.pk, followers - 1, {
            "id": lambda i: first + i, "username": lambda i: f"bench_fan_{i}",
            "email": lambda i: f"fan{i}@bench.invalid"})
        copy_like("social_follow", follow.pk, followers - 1, {
            "id": lambda i: follow.pk + 1_000_000 + i, "follower_id": lambda i: first + i})
        copy_like(CreatorPostSubscription._meta.db_table, sub.pk, followers - 1, {
            "id": lambda i: sub.pk + 1 + i, "user_id": lambda i: first + i})
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                           [CreatorPostSubscription._meta.db_table, sub.pk + followers])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"seeded": True, "seconds": time.monotonic() - started}


def _empty_notifications() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE notifications_notification, notifications_notificationevent, "
                       "notifications_delivery, notifications_inbox, notifications_fanout, "
                       "core_outboxtask")


class EnoughError(Exception):
    """--stop-after reached: the fan-out stops at a checkpoint, as a killed worker would."""


def worker_fanout(params: dict[str, Any]) -> dict[str, Any]:
    django_setup()
    from django.db import transaction
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.content.models import Post
    from apps.core.ids import allocate_ids
    from apps.notifications.models import CreatorPostSubscription, FanOut, Notification
    from apps.notifications.services.fanout import new_post_fan_out

    batch = int(params["batch"])
    limit = int(params["limit"] or 0)  # stop both after this many recipients (0: all)
    creator = User.objects.get(username=CREATOR)
    post = Post.objects.filter(author=creator).first()
    assert post is not None
    _empty_notifications()
    rss: list[float] = []
    began = time.perf_counter()

    def sample(job: FanOut) -> None:
        rss.append(rss_mb())
        if job.batches % 20 == 0:
            spent = time.perf_counter() - began
            print(f"  fan-out: {job.told:,} told in {spent:.0f} s ({job.told / spent:,.0f}/s), "
                  f"RSS {rss[-1]:.0f} MB", flush=True)
        if limit and job.told >= limit:
            raise EnoughError

    rss_before = rss_mb()
    started = time.perf_counter()
    try:
        told = new_post_fan_out(post.pk, batch_size=batch, after_batch=sample)
    except EnoughError:
        told = FanOut.objects.get(pk=post.pk).told
    fan_s = time.perf_counter() - started
    exact = Notification.objects.filter(type="new_post").values("recipient_id").distinct().count()
    _empty_notifications()
    # Baseline: the same rows, one plain multi-row INSERT per batch (keyset read included).
    now = timezone.now()
    started = time.perf_counter()
    after, plain = 0, 0
    while True:
        ids = list(CreatorPostSubscription.objects.filter(creator=creator, user_id__gt=after)
                   .order_by("user_id").values_list("user_id", flat=True)[:batch])
        if not ids:
            break
        after = ids[-1]
        with transaction.atomic():
            Notification.objects.bulk_create([
                Notification(pk=pk, recipient_id=u, type="new_post", target_type="post",
                             target_id=post.pk, actor_id=creator.pk, actor_ids=[creator.pk],
                             seq=1, created_at=now, updated_at=now)
                for u, pk in zip(ids, allocate_ids(len(ids)), strict=True)])
        plain += len(ids)
        if limit and plain >= limit:
            break
        if plain % (20 * batch) == 0:
            spent = time.perf_counter() - started
            print(f"  plain INSERT: {plain:,} rows in {spent:.0f} s ({plain / spent:,.0f}/s)",
                  flush=True)
    plain_s = time.perf_counter() - started
    _empty_notifications()
    return {"plain_rows": plain, "plain_s": plain_s, "told": told, "fan_s": fan_s,
            "distinct_recipients": exact, "rss_before_mb": rss_before,
            "rss_first_mb": rss[0] if rss else float("nan"),
            "rss_mid_mb": rss[len(rss) // 2] if rss else float("nan"),
            "rss_last_mb": rss[-1] if rss else float("nan"), "peak_rss_mb": peak_rss_mb(),
            "batches": len(rss)}


def worker_inbox(params: dict[str, Any]) -> dict[str, Any]:
    """The reader's inbox filled with `inbox` notifications (seqs 1..n); a signed-in
    session for them: its cookie."""
    django_setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    from apps.accounts.models import User
    from apps.core.ids import allocate_ids

    reader = User.objects.get(username=READER)
    creator = User.objects.get(username=CREATOR)
    n = int(params["inbox"])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM notifications_notification WHERE recipient_id = %s",
                       [reader.pk])
        cursor.execute(
            "INSERT INTO notifications_notification (id, recipient_id, type, target_type, "
            "target_id, group_key, actor_id, actor_ids, actor_count, data, seq, created_at, "
            "updated_at) SELECT t.id, %s, 'follow', 'user', %s, '', %s, ARRAY[%s]::bigint[],"
            " 1, '{}'::jsonb, t.g, now() - (%s - t.g) * interval '1 minute', now() "
            "FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(id, g)",
            [reader.pk, creator.pk, creator.pk, creator.pk, n, allocate_ids(n)])
        cursor.execute("INSERT INTO notifications_inbox (user_id, last_seq, time_zone, "
                       "updated_at) VALUES (%s, %s, '', now()) ON CONFLICT (user_id) DO "
                       "UPDATE SET last_seq = EXCLUDED.last_seq", [reader.pk, n])
        cursor.execute("ANALYZE notifications_notification")
    session = SessionStore()
    session[SESSION_KEY] = str(reader.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = reader.get_session_auth_hash()
    session.save()
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"}


WORKERS = {"seed": worker_seed, "fanout": worker_fanout, "inbox": worker_inbox}


def worker_main(name: str, params_json: str, out_path: str) -> None:
    result = WORKERS[name](json.loads(params_json))
    Path(out_path).write_text(json.dumps(result))


# --- the orchestrating process (no Django) -----------------------------------------------


def run_worker(name: str, params: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    out = BASE_DIR / "var" / "bench" / f"notifications-worker-{name}-{os.getpid()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, __file__, "_worker", name, json.dumps(params),
                           str(out)], cwd=BASE_DIR, env=env, timeout=4 * 3600, check=False)
    if done.returncode != 0:
        sys.exit(f"worker {name} failed with {done.returncode}")
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


async def latencies(port: int, request: bytes, *, requests: int,
                    concurrency: int) -> tuple[list[int], dict[int, int]]:
    from api_latency import Connection

    spent: list[int] = []
    statuses: dict[int, int] = {}
    left = requests

    async def client() -> None:
        nonlocal left
        conn = Connection(port, 10.0)
        try:
            while left > 0:
                left -= 1
                began = time.perf_counter_ns()
                status, _ = await conn.get(request)
                spent.append(time.perf_counter_ns() - began)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            await conn.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return sorted(spent), statuses


def http_get(path: str, port: int, cookie: str = "") -> bytes:
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: swipeme-bench\r\n"
            f"Accept: application/json\r\n{extra}Connection: keep-alive\r\n\r\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_runs=1)
    parser.add_argument("--small", action="store_true",
                        help="20,000 followers and 2,000 inbox rows (a try)")
    parser.add_argument("--followers", type=int, default=None)
    parser.add_argument("--inbox", type=int, default=None)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--stop-after", type=int, default=0, metavar="N",
                        help="fan out to (and INSERT) only the first N followers of the "
                        "seeded audience (a shorter run on the full-size tables)")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_NOTIFICATIONS_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-db", type=int, default=11)
    args = parser.parse_args()
    followers = args.followers or (20_000 if args.small else 1_000_000)
    inbox = args.inbox or (2_000 if args.small else 10_000)

    from api_latency import Server, free_port, percentile
    from search_speed import ensure_database

    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DJANGO_DEBUG="0",
               DATABASE_URL=args.database_url, DJANGO_LOG_LEVEL="WARNING",
               PYTHONUNBUFFERED="1", REDIS_URL=f"redis://127.0.0.1:56379/{args.redis_db}",
               SWIPEME_THROTTLE_ANON_READ="100000000/min")
    print(f"notifications bench: {followers:,} followers, inbox of {inbox:,}, batches of "
          f"{args.batch:,}; database {args.database_url}", flush=True)
    ensure_database(args.database_url, recreate=not args.reuse, env=env)
    seeded = run_worker("seed", {"followers": followers}, env)
    print(f"seed: {seeded}", flush=True)

    runs = Runs("notifications", args)
    for run in runs:
        fan = run_worker("fanout", {"batch": args.batch, "limit": args.stop_after}, env)
        plain_rate = fan["plain_rows"] / fan["plain_s"]
        fan_rate = fan["told"] / fan["fan_s"]
        print(f"plain multi-row INSERT: {fan['plain_rows']:,} rows in {fan['plain_s']:.1f} s = "
              f"{plain_rate:,.0f} rows/s", flush=True)
        print(f"fan-out: {fan['told']:,} told ({fan['distinct_recipients']:,} distinct) in "
              f"{fan['batches']} batches, {fan['fan_s']:.1f} s = {fan_rate:,.0f} "
              f"notifications/s; ratio {fan_rate / plain_rate:.2f} (target >= 0.33)",
              flush=True)
        print(f"fan-out worker RSS MB: before {fan['rss_before_mb']:.0f}, after the first "
              f"batch {fan['rss_first_mb']:.0f}, mid-way {fan['rss_mid_mb']:.0f}, at the end "
              f"{fan['rss_last_mb']:.0f}, peak {fan['peak_rss_mb']:.0f}", flush=True)
        run.figure("plain INSERT rows/s", plain_rate)
        run.figure("fan-out notifications/s", fan_rate)
        run.ratio("fan-out/plain", fan_rate, plain_rate)
        run.figure("fan-out RSS growth first->last batch MB",
                   fan["rss_last_mb"] - fan["rss_first_mb"], "MB")
        run.figure("fan-out peak RSS MB", fan["peak_rss_mb"], "MB")
        wanted = min(followers, args.stop_after or followers)
        if fan["told"] < wanted or fan["distinct_recipients"] != fan["told"]:
            print(f"WARNING: {wanted:,} wanted but {fan['told']:,} told "
                  f"({fan['distinct_recipients']:,} distinct)", flush=True)

        cookie = run_worker("inbox", {"inbox": inbox}, env)["cookie"]
        port = free_port()
        server = Server(port, env, BASE_DIR / "var" / "bench" / "notifications-server.log")
        server.start()
        try:
            figures = {}
            for name, path, with_cookie in (("ping", "/api/v1/ping", ""),
                                            ("inbox", "/api/v1/notifications", cookie)):
                request = http_get(path, port, with_cookie)
                asyncio.run(latencies(port, request, requests=200,
                                      concurrency=args.concurrency))  # warm-up
                spent, statuses = asyncio.run(latencies(
                    port, request, requests=args.requests, concurrency=args.concurrency))
                p50, p99 = percentile(spent, 50), percentile(spent, 99)
                print(f"{name:<6} GET {path}: {len(spent)} requests, statuses {statuses}, "
                      f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
                if set(statuses) != {200}:
                    print(f"WARNING: {name} answered {statuses}", flush=True)
                figures[name] = (p50, p99)
                run.figure(f"{name} p99 ms", p99, "ms")
                run.figure(f"{name} p50 ms", p50, "ms")
            run.ratio("inbox/ping p99", figures["inbox"][1], figures["ping"][1])
            print(f"inbox read p99 {figures['inbox'][1]:.1f} ms (target < 50 ms) with "
                  f"{inbox:,} notifications", flush=True)
        finally:
            server.stop()
    runs.summary()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker_main(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())
