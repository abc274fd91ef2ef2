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

4. Websockets (per run, `--websockets N`, default 5,000; RLIMIT_NOFILE raised to its hard
   limit): the first N followers get an app session each; on one uvicorn, first a bare
   Channels echo (N sockets to ws/ping/, one message each, sent in waves of `--ws-batch`
   as the event is told, each wave once the one before it was answered; time to the pong
   through a channel-layer group), then N sockets to ws/notifications/ (X-Session-Token),
   each ready once its first unread count arrived, and the event: the creator's post told to
   all N through `services.notify` (rules, seqs, the live announcement after the commit) in
   calls of `--ws-batch`; delivery time from each call's start to the recipient's receipt,
   p50/p99 (target p99 < 1 s), lost (no message) and duplicated (a seq twice).
`--parts fanout,inbox,ws` picks the measurements.
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
                       "notifications_delivery, notifications_heldpush, notifications_inbox, "
                       "notifications_fanout, core_outboxtask")


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
    from apps.notifications.services.inbox import _insert as insert_rows

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
    # Baseline: the same rows, one plain multi-row INSERT per batch (keyset read included):
    # the statement the job writes its rows with, without keys, rules, seqs or checkpoint.
    now = timezone.now()
    started = time.perf_counter()
    after, plain = 0, 0
    while True:
        ids = list(CreatorPostSubscription.objects.filter(creator=creator, user_id__gt=after)
                   .order_by("user_id").values_list("user_id", flat=True)[:batch])
        if not ids:
            break
        after = ids[-1]
        with transaction.atomic():  # the job's own multi-row INSERT (unnest arrays)
            insert_rows([
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


def worker_ws_setup(params: dict[str, Any]) -> dict[str, Any]:
    """The first `count` followers of the seeded audience as websocket users: their
    inboxes emptied, an app session each (the X-Session-Token the mobile client sends)."""
    django_setup()
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from apps.accounts.models import User

    count = int(params["count"])
    users = list(User.objects.filter(username__startswith="bench_fan_").order_by("pk")[:count])
    ids = [u.pk for u in users]
    with connection.cursor() as cursor:
        mine = "SELECT id FROM notifications_notification WHERE recipient_id = ANY(%s)"
        for table in ("notifications_notificationevent", "notifications_delivery"):
            cursor.execute(f"DELETE FROM {table} WHERE notification_id IN ({mine})",
                           [ids])
        cursor.execute("DELETE FROM notifications_notification WHERE recipient_id = ANY(%s)",
                       [ids])
        cursor.execute("DELETE FROM notifications_inbox WHERE user_id = ANY(%s)", [ids])
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    sessions = [Session(session_key=get_random_string(32), expire_date=expires,
                        session_data=store.encode({
                            SESSION_KEY: str(u.pk),
                            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                            HASH_SESSION_KEY: u.get_session_auth_hash()}))
                for u in users]
    Session.objects.bulk_create(sessions, batch_size=1000)
    return {"users": [[u.pk, s.session_key] for u, s in zip(users, sessions, strict=True)]}


def worker_ws_event(params: dict[str, Any]) -> dict[str, Any]:
    """The event: the creator's post told to each connected user through the real service
    (`services.notify`: rules, seqs, the live announcement after the commit), in batches;
    the wall-clock time each batch's call began, per recipient."""
    django_setup()
    from apps.accounts.models import User
    from apps.content.models import Post
    from apps.notifications import services
    from apps.notifications.services import Candidate

    creator = User.objects.get(username=CREATOR)
    post = Post.objects.filter(author=creator).first()
    assert post is not None
    ids = [int(i) for i in params["ids"]]
    nonce = params["nonce"]
    began: dict[str, float] = {}
    spent: list[float] = []  # each services.notify call, its commit and announcements
    told = 0
    for at in range(0, len(ids), int(params["batch"])):
        chunk = ids[at:at + int(params["batch"])]
        t = time.time()
        rows = services.notify([
            Candidate(uid, "new_post", f"wsbench:{nonce}:{uid}", actor_id=creator.pk,
                      target_type="post", target_id=post.pk) for uid in chunk])
        told += len(rows)
        began.update({str(uid): t for uid in chunk})
        spent.append(time.time() - t)
    return {"began": began, "told": told, "notify_s": spent}


WORKERS = {"seed": worker_seed, "fanout": worker_fanout, "inbox": worker_inbox,
           "ws_setup": worker_ws_setup, "ws_event": worker_ws_event}


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


# --- websockets (the orchestrating process is the client) --------------------------------


async def open_sockets(url: str, headers: list[dict[str, str]], port: int,
                       parallel: int = 50) -> list[Any]:
    """One websocket per headers dict, `parallel` handshakes at a time."""
    import websockets
    from websockets.typing import Origin

    sockets: list[Any] = [None] * len(headers)
    gate = asyncio.Semaphore(parallel)

    async def one(i: int) -> None:
        async with gate:
            sockets[i] = await websockets.connect(
                url, additional_headers=headers[i], origin=Origin(f"http://127.0.0.1:{port}"),
                open_timeout=120, ping_interval=None, close_timeout=2, max_queue=None)

    await asyncio.gather(*(one(i) for i in range(len(headers))))
    return sockets


async def close_sockets(sockets: list[Any]) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets if ws is not None),
                         return_exceptions=True)


def _ms(values: list[float]) -> tuple[float, float, float]:
    """(p50, p99, max) in ms of seconds."""
    if not values:
        return float("nan"), float("nan"), float("nan")
    ordered = sorted(values)

    def rank(pct: float) -> float:  # nearest rank, as api_latency.percentile
        return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]

    return rank(50) * 1e3, rank(99) * 1e3, ordered[-1] * 1e3


async def ws_echo(port: int, count: int, settle: float, wave: int) -> dict[str, Any]:
    """A bare Channels echo (ws/ping/: a message through a channel-layer group and back),
    `count` sockets connected, one message each, sent in waves of `wave` sockets (the ws
    event's recipients per notify call): a wave goes once the one before it was answered
    (or `settle` passed). Time from each send to its pong. All 5,000 at once is not the
    baseline: that many group_sends in one instant wait for the layer's pool (10 s) and
    most are lost, which says nothing about delivery."""
    url = f"ws://127.0.0.1:{port}/ws/ping/"
    began = time.perf_counter()
    sockets = await open_sockets(url, [{} for _ in range(count)], port)
    connect_s = time.perf_counter() - began
    sent: dict[int, float] = {}
    got: dict[int, list[float]] = {i: [] for i in range(count)}

    async def read(i: int, ws: Any) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "pong":
                got[int(message["echo"]["i"])].append(time.time())

    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
    for start in range(0, count, max(wave, 1)):
        members = range(start, min(start + max(wave, 1), count))
        for i in members:
            sent[i] = time.time()
            await sockets[i].send(json.dumps({"i": i}))
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and any(not got[i] for i in members):
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # a late duplicate would show here
    await close_sockets(sockets)
    for task in readers:
        task.cancel()
    return {"connect_s": connect_s,
            "latencies": [v[0] - sent[i] for i, v in got.items() if v],
            "lost": sum(1 for v in got.values() if not v),
            "duplicated": sum(len(v) - 1 for v in got.values() if len(v) > 1)}


async def ws_notifications(port: int, users: list[list[Any]], env: dict[str, str],
                           batch: int, settle: float) -> dict[str, Any]:
    """`users` ([id, session token]) connected to ws/notifications/ (X-Session-Token), each
    ready once its first unread count arrived; then the event (worker_ws_event) and the
    time from each batch's call to each recipient's receipt of its notification."""
    url = f"ws://127.0.0.1:{port}/ws/notifications/"
    began = time.perf_counter()
    sockets = await open_sockets(url, [{"X-Session-Token": token} for _, token in users],
                                 port)
    connect_s = time.perf_counter() - began
    got: dict[int, list[tuple[float, int]]] = {int(uid): [] for uid, _ in users}
    ready = 0
    errors: list[Any] = []

    async def read(uid: int, ws: Any) -> None:
        nonlocal ready
        first = True
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "notification":
                got[uid].append((time.time(), int(message["seq"])))
            elif message.get("type") == "error":
                errors.append(message)
            if first:
                first = False
                ready += 1

    readers = [asyncio.create_task(read(int(uid), ws))
               for (uid, _), ws in zip(users, sockets, strict=True)]
    deadline = time.monotonic() + 120
    while ready < len(users) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    ready_s = time.perf_counter() - began
    event = await asyncio.to_thread(run_worker, "ws_event", {
        "ids": [uid for uid, _ in users], "batch": batch, "nonce": f"{os.getpid()}-{began}"},
        env)
    event_done = time.time()
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline and any(not v for v in got.values()):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    await close_sockets(sockets)
    for task in readers:
        task.cancel()
    starts = event["began"]
    first_event = min(starts.values()) if starts else event_done
    return {"connect_s": connect_s, "ready": ready, "ready_s": ready_s,
            "errors": errors[:3], "told": event["told"],
            "event_s": event_done - first_event,
            "notify_s": _ms(event["notify_s"])[1] / 1e3,
            "latencies": [v[0][0] - starts[str(uid)] for uid, v in got.items() if v],
            "lost": sum(1 for v in got.values() if not v),
            "duplicated": sum(len(v) - len({seq for _, seq in v}) for v in got.values()),
            "extra": sum(max(0, len(v) - 1) for v in got.values())}


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


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
    parser.add_argument("--parts", default="fanout,inbox,ws",
                        help="which measurements, comma-separated: fanout, inbox, ws")
    parser.add_argument("--websockets", type=int, default=5000,
                        help="connected websockets (ws part; needs that many followers)")
    parser.add_argument("--ws-batch", type=int, default=500,
                        help="recipients per services.notify call of the ws event")
    parser.add_argument("--no-echo", action="store_true",
                        help="skip the bare Channels echo of the ws part (a shorter run)")
    parser.add_argument("--ws-settle", type=float, default=60.0,
                        help="seconds to wait for the last deliveries after the event")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    followers = args.followers or (20_000 if args.small else 1_000_000)
    inbox = args.inbox or (2_000 if args.small else 10_000)

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

    nofile = raise_nofile()
    runs = Runs("notifications", args)
    for run in runs:
        if "fanout" in parts:
            fanout_part(run, args, env, followers)
        if "inbox" in parts:
            inbox_part(run, args, env, inbox)
        if "ws" in parts:
            ws_part(run, args, env, nofile)
    runs.summary()
    return 0


def fanout_part(run: Any, args: argparse.Namespace, env: dict[str, str],
                followers: int) -> None:
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



def inbox_part(run: Any, args: argparse.Namespace, env: dict[str, str], inbox: int) -> None:
    from api_latency import Server, free_port, percentile

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


def ws_part(run: Any, args: argparse.Namespace, env: dict[str, str], nofile: int) -> None:
    """Issue 14: N connected websockets, delivery p99 < 1 s from the event, none lost or
    duplicated, against a bare Channels echo (ws/ping/) at the same N in the same run."""
    from api_latency import Server, free_port

    count = args.websockets
    if 2 * count + 200 > nofile:
        print(f"WARNING: RLIMIT_NOFILE {nofile} is short for {count} sockets each side",
              flush=True)
    users = run_worker("ws_setup", {"count": count}, env)["users"]
    if len(users) < count:
        sys.exit(f"only {len(users)} followers seeded for {count} websockets")
    port = free_port()
    server = Server(port, env, BASE_DIR / "var" / "bench" / "notifications-ws-server.log")
    server.start()
    try:
        echo: dict[str, Any] = (
            asyncio.run(ws_echo(port, count, args.ws_settle, args.ws_batch))
            if not args.no_echo
            else {"connect_s": float("nan"), "latencies": [], "lost": 0, "duplicated": 0})
        e50, e99, emax = _ms(echo["latencies"])
        print(f"echo ws/ping/: {count:,} sockets connected in {echo['connect_s']:.1f} s, "
              f"pinged in waves of {args.ws_batch}; "
              f"p50 {e50:.0f} ms, p99 {e99:.0f} ms, max {emax:.0f} ms; lost {echo['lost']}, "
              f"duplicated {echo['duplicated']}", flush=True)
        note = asyncio.run(ws_notifications(port, users, env, args.ws_batch, args.ws_settle))
        n50, n99, nmax = _ms(note["latencies"])
        print(f"notifications ws: {count:,} sockets connected in {note['connect_s']:.1f} s "
              f"({note['ready']:,} ready after {note['ready_s']:.1f} s, errors "
              f"{note['errors']}); event told {note['told']:,} in {note['event_s']:.1f} s (the "
              f"slowest notify call of {args.ws_batch} {note['notify_s']:.1f} s); "
              f"delivery p50 {n50:.0f} ms, p99 {n99:.0f} ms, max {nmax:.0f} ms (target p99 < "
              f"1000 ms); lost {note['lost']}, duplicated {note['duplicated']} (messages "
              f"beyond one per socket: {note['extra']})", flush=True)
    finally:
        server.stop()
    run.figure("ws sockets", count)
    run.figure("ws echo p99 ms", e99, "ms")
    run.figure("ws delivery p50 ms", n50, "ms")
    run.figure("ws delivery p99 ms", n99, "ms")
    run.figure("ws lost", note["lost"])
    run.figure("ws duplicated", note["duplicated"])
    run.ratio("ws delivery/echo p99", n99, e99)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker_main(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())
