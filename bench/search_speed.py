"""Search speed: both engines (tantivy, PostgreSQL) on the same catalogue, in the same run.

    .venv/bin/python bench/search_speed.py --small --runs 1          # a few minutes
    .venv/bin/python bench/search_speed.py --reuse --runs 3 --json var/bench/search.json
    make bench-search

The catalogue (bench/search_data.py): 1,000,000 accounts, 1,000,000 multilingual video
captions, 100,000 hashtags and 50,000 sounds (`--accounts/--videos/--hashtags/--sounds`,
`--small` for a try), written with COPY into a dedicated database (`--database-url`, default
postgres://postgres@127.0.0.1:54329/bench_search; its name must contain "bench"; it is
created and migrated here; never the dev or test databases). Real rows, because the search
endpoint applies visibility at query time. `--reuse` keeps a complete catalogue of the same
sizes and seed (and the indexes built from it); without it the database is dropped and made
again (14 minutes at full size on 2 cores at load 10; the two indexes then took about 85).

Then, in order:
1. Queries from real entries, for each kind (accounts, videos, sounds, hashtags): exact (some
   in another case or without their accents), 1 typo (a word of >= 5 characters), 2 typos
   (a word of >= 9), prefixes (as you type: the last word cut); typos are one-character
   substitutions, insertions or deletions, never on a word's first character (Meilisearch
   counts a first-letter typo as two), never in Japanese. Only entries a signed-out viewer
   may find are used.
2. Engine level, per engine: the index built from the catalogue by a separate process
   (`apply` in batches of --batch docs), its wall time and the peak RSS of that process, the
   index's size; then a fresh process (as a web worker would be) runs every query once at
   one connection (after a warm-up of a tenth of them): p50/p99 per kind x query kind, and
   recall@10: the intended entry in the top 10 - or an entry the query describes as well
   (the same name, the same title; for videos a caption holding every word of the query),
   since 1,000,000 generated names repeat.
3. HTTP level, per engine: uvicorn as `make run` starts it (one worker, dev settings with
   DEBUG off, the bench database, SWIPEME_SEARCH_BACKEND=<engine>) and `GET /api/v1/ping`
   (the no-op) against `GET /api/v1/search?q=..&tab=..&mode=full|prefix` for every tab,
   signed out: p50/p99 at one connection (the queries cycle), then throughput at
   --concurrency connections, and the ratio to the no-op's throughput in the same run.
4. Freshness, with the chosen engine: a post published through the content services, indexed
   by the real outbox and drain (a Celery worker), polled through the search endpoint until
   it is found (target <= 5 s); then taken down and polled until it is gone (target:
   immediate, the query-time filter).

`--runs N` (default 3) repeats 2 and 3 (the index is built in the first run only unless
--rebuild) and ends with the median of each figure and ratio over the runs, with the min-max
and the load average (bench/_runs.py; `--json out.json` writes them). The load generator
shares the 2 cores with the server, PostgreSQL and Redis: compare ratios in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

if TYPE_CHECKING:
    from apps.search.engine.base import Kind

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))

from _runs import Run, Runs, add_arguments  # noqa: E402
from api_latency import HOST, Connection, HttpError, Server, free_port  # noqa: E402
from search_data import SIZES_FULL, SIZES_SMALL  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:54329/bench_search"
ENGINES = ("tantivy", "postgres")
KINDS = ("account", "video", "sound", "hashtag")
ENGINE_KINDS: tuple[Kind, ...] = ("account", "video", "sound", "hashtag")
QKINDS = ("exact", "typo1", "typo2", "prefix")
TAB_OF = {"account": "accounts", "video": "videos", "sound": "sounds", "hashtag": "hashtags"}
HTTP_TABS = ("top", "accounts", "videos", "sounds", "hashtags")
TARGET_P99_MS = 50.0
TARGET_RECALL = {"exact": 0.99, "typo1": 0.95}


# --- worker processes (Django set up on the bench database) ------------------------------


def django_setup() -> None:
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def worker_seed(params: dict[str, Any]) -> dict[str, Any]:
    django_setup()
    import search_data

    meta = search_data.meta_get()
    wanted = {"sizes": params["sizes"], "seed": params["seed"]}
    if (params["reuse"] and meta.get("complete") == "true"
            and json.loads(meta["sizes"]) == wanted["sizes"]
            and json.loads(meta["seed"]) == wanted["seed"]):
        return {"seeded": False, "meta": {k: json.loads(v) for k, v in meta.items()}}
    from apps.content.models import Post

    if Post.objects.exists():
        return {"mismatch": True, "meta": {k: json.loads(v) for k, v in meta.items()}}
    search_data.seed(params["sizes"], params["seed"], lambda s: print(s, flush=True))
    return {"seeded": True, "meta": {k: json.loads(v) for k, v in
                                     search_data.meta_get().items()},
            "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker_queries(params: dict[str, Any]) -> dict[str, Any]:
    django_setup()
    import search_data

    return {"queries": search_data.make_queries(params["per_cell"], params["seed"])}


def index_size_mb(engine: str) -> float:
    from django.conf import settings
    from django.db import connection

    if engine == "tantivy":
        root = Path(settings.SWIPEME_SEARCH_INDEX_DIR) / "tantivy"
        return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 2**20
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) "
                       "FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'search_%%' "
                       "AND c.relname NOT IN ('search_indexoutbox', 'search_searchhistory')")
        row = cursor.fetchone()
    return float(row[0] if row else 0) / 2**20


def worker_build(params: dict[str, Any]) -> dict[str, Any]:
    """The real rebuild (apps.search.indexing.pipeline.rebuild, what `manage.py
    search_rebuild` runs) into this engine; wall time and this process's peak RSS."""
    django_setup()
    from apps.search.engine import get_backend
    from apps.search.indexing import pipeline
    from apps.search.indexing.documents import candidate_count

    backend = get_backend(params["engine"])
    counts = {k: backend.count(k) for k in ENGINE_KINDS}
    # A bounded (build_partial) or stale index is not reused: it would be measured as whole.
    if params["reuse"] and backend.is_built() and all(
            counts[k] == candidate_count(k) for k in ENGINE_KINDS):
        return {"built": False, "size_mb": index_size_mb(params["engine"]), "counts": counts}
    last = [0.0]

    def progress(line: str) -> None:
        if time.monotonic() - last[0] > 15 or line.startswith("done"):
            last[0] = time.monotonic()
            print(f"  [{params['engine']}] {line}", flush=True)

    rss0, cpu0, t0 = peak_rss_mb(), cpu_seconds(), time.monotonic()
    written = pipeline.rebuild(batch_size=params["batch"], progress=progress)
    seconds = time.monotonic() - t0
    return {"built": True, "seconds": seconds, "cpu_seconds": cpu_seconds() - cpu0,
            "peak_rss_mb": peak_rss_mb(), "rss_before_mb": rss0, "counts": written,
            "size_mb": index_size_mb(params["engine"])}


def worker_build_partial(params: dict[str, Any]) -> dict[str, Any]:
    """A bounded build, for an engine too slow to index the whole catalogue in the time
    there is: every account, sound and hashtag, every video a query is about, then videos
    in id order until `video_deadline` (epoch seconds). The same documents and `apply`
    calls as pipeline.rebuild (without its writer lock: run it alone on its engine)."""
    django_setup()
    from apps.search.engine import get_backend
    from apps.search.indexing.documents import documents_for, stream_documents

    backend = get_backend(params["engine"])
    queries = json.loads(Path(params["queries_path"]).read_text())
    rss0, cpu0, t0 = peak_rss_mb(), cpu_seconds(), time.monotonic()
    backend.clear()
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for kind in ("account", "sound", "hashtag"):
        started, done = time.monotonic(), 0
        for docs in stream_documents(kind, batch_size=params["batch"]):
            backend.apply(upserts=docs)
            done += len(docs)
            if done % 100_000 < len(docs):
                print(f"  [{params['engine']}] {kind}: {done:,}, "
                      f"{done / (time.monotonic() - started):,.0f} docs/s", flush=True)
        counts[kind], seconds[kind] = done, time.monotonic() - started
    started = time.monotonic()
    targets = sorted({q["target"] for q in queries if q["kind"] == "video"})
    docs, _ = documents_for("video", targets)
    backend.apply(upserts=docs)
    done = len(docs)
    for docs in stream_documents("video", batch_size=params["batch"]):
        if time.time() > params["video_deadline"]:
            break
        backend.apply(upserts=docs)
        done += len(docs)
        print(f"  [{params['engine']}] video: {done:,}, "
              f"{done / (time.monotonic() - started):,.0f} docs/s", flush=True)
    counts["video"], seconds["video"] = done, time.monotonic() - started
    backend.mark_built()
    return {"built": True, "partial": True, "seconds": time.monotonic() - t0,
            "seconds_per_kind": seconds, "cpu_seconds": cpu_seconds() - cpu0,
            "peak_rss_mb": peak_rss_mb(), "rss_before_mb": rss0, "counts": counts,
            "size_mb": index_size_mb(params["engine"])}


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def worker_search(params: dict[str, Any]) -> dict[str, Any]:
    """Every query once against the engine at one connection, in a fresh process (as a web
    worker): latency per kind x query kind, recall@10 judged against the database."""
    django_setup()
    import search_data

    from apps.search.engine import get_backend

    queries: list[dict[str, Any]] = json.loads(Path(params["queries_path"]).read_text())
    t0 = time.perf_counter()
    backend = get_backend(params["engine"])
    backend.search("account", "warm", limit=10)
    open_ms = (time.perf_counter() - t0) * 1000
    warm = random.Random(1).sample(queries, len(queries) // 10)
    for q in warm:
        backend.search(q["kind"], q["q"], limit=10, prefix=q["prefix"])
    results: list[tuple[dict[str, Any], float, list[int]]] = []
    errors: dict[str, int] = {}
    clock = time.perf_counter
    for q in queries:
        started = clock()
        try:
            hits = backend.search(q["kind"], q["q"], limit=10, prefix=q["prefix"])
        except Exception as exc:  # noqa: BLE001 - counted and reported (must never raise)
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            continue
        results.append((q, (clock() - started) * 1000, [h.id for h in hits]))
    texts: dict[str, dict[int, tuple[str, ...]]] = {}
    for kind in KINDS:
        ids = sorted({i for q, _, hit_ids in results if q["kind"] == kind for i in hit_ids})
        texts[kind] = search_data.texts_of(kind, ids)
    cells: dict[str, dict[str, Any]] = {}
    misses: list[dict[str, Any]] = []
    for kind in KINDS:
        for qkind in QKINDS:
            rows = [(q, ms, ids) for q, ms, ids in results
                    if q["kind"] == kind and q["qkind"] == qkind]
            if not rows:
                continue
            lat = [ms for _, ms, _ in rows]
            found = [any(search_data.judge(q, i, texts[kind].get(i)) for i in ids)
                     for q, _, ids in rows]
            misses += [{"kind": kind, "qkind": qkind, "q": q["q"], "target": q["target"]}
                       for (q, _, _), ok in zip(rows, found, strict=True) if not ok][:5]
            cells[f"{kind}/{qkind}"] = {
                "n": len(rows), "p50": pct(lat, 50), "p99": pct(lat, 99),
                "mean": sum(lat) / len(lat), "max": max(lat),
                "recall": sum(found) / len(found),
                "empty": sum(1 for _, _, ids in rows if not ids) / len(rows)}
        lat = [ms for q, ms, _ in results if q["kind"] == kind]
        if lat:
            cells[f"{kind}/all"] = {"n": len(lat), "p50": pct(lat, 50), "p99": pct(lat, 99),
                                    "mean": sum(lat) / len(lat), "max": max(lat)}
    return {"cells": cells, "errors": errors, "open_ms": open_ms, "misses": misses,
            "peak_rss_mb": peak_rss_mb()}


def _found(port: int, word: str, post_id: int) -> bool:
    """Does a signed-out search for `word` (Videos, in full) answer this post now?"""
    import urllib.request

    url = f"http://{HOST}:{port}/api/v1/search?q={quote(word)}&tab=videos&mode=full"
    with urllib.request.urlopen(url, timeout=30) as resp:  # loopback only
        body = json.loads(resp.read())
    return any(str(item.get("id")) == str(post_id) for item in body.get("results", []))


def worker_fresh(params: dict[str, Any]) -> dict[str, Any]:
    """Publish a post through the content services (its outbox row committed with it; a
    Celery worker drains it into the index), poll the search endpoint until it answers the
    post; then take it down (content's post_remove, what moderation calls) and poll until
    gone. Times run from the commit that made the post published."""
    django_setup()
    import search_data
    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.content.models import Post
    from apps.content.services import post_create, post_release_from_review, post_remove
    from apps.media.models import MediaAsset

    port = params["port"]
    with connection.cursor() as cursor:
        cursor.execute(search_data.TARGET_SQL["account"] + " LIMIT 1")
        row = cursor.fetchone()
    assert row is not None
    author = User.objects.get(pk=row[0])
    now = timezone.now()
    asset = MediaAsset.objects.create(  # a finished upload (the media pipeline is not timed)
        owner=author, state=MediaAsset.State.READY, duration_ms=15_000, width=1080,
        height=1920, playable_at=now, ready_at=now)
    rng = random.Random()
    word = "fresh" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))
    post = post_create(author=author, asset_id=asset.pk, caption=f"{word} bench freshness",
                       publish="now")
    t0 = time.monotonic()
    status = Post.objects.get(pk=post.pk).status
    if status == Post.Status.REVIEWING:
        # Held by moderation's pre-publish checks (not timed here): released as moderation
        # does when they pass; the publish is that commit.
        post_release_from_review(post_id=post.pk)
        status = f"reviewing -> {Post.objects.get(pk=post.pk).status}"
    committed = time.monotonic()
    polls, searchable = 0, None
    while time.monotonic() - t0 < params["timeout"]:
        polls += 1
        if _found(port, word, post.pk):
            searchable = time.monotonic() - t0
            break
        time.sleep(0.05)
    result: dict[str, Any] = {"status": status, "commit_s": committed - t0,
                              "searchable_s": searchable, "polls": polls}
    if searchable is None:
        return result
    t1 = time.monotonic()
    post_remove(post_id=post.pk)
    removed = time.monotonic()
    polls, gone = 0, None
    while time.monotonic() - removed < params["timeout"]:
        polls += 1
        if not _found(port, word, post.pk):
            gone = time.monotonic() - removed  # from the take-down's commit
            break
        time.sleep(0.05)
    result.update(takedown_commit_s=removed - t1, gone_s=gone, gone_polls=polls)
    return result


WORKERS = {"seed": worker_seed, "queries": worker_queries, "build": worker_build,
           "search": worker_search, "fresh": worker_fresh,
           "build_partial": worker_build_partial}


def worker_main(name: str, params_json: str, out_path: str) -> None:
    result = WORKERS[name](json.loads(params_json))
    Path(out_path).write_text(json.dumps(result))


# --- the orchestrating process (no Django) -----------------------------------------------


def run_worker(name: str, params: dict[str, Any], env: dict[str, str], *,
               timeout: float = 4 * 3600) -> dict[str, Any]:
    out = BASE_DIR / "var" / "bench" / f"search-worker-{name}-{os.getpid()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, __file__, "_worker", name, json.dumps(params),
                           str(out)], cwd=BASE_DIR, env=env, timeout=timeout, check=False)
    if done.returncode != 0:
        sys.exit(f"worker {name} failed with {done.returncode}")
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


def ensure_database(url: str, *, recreate: bool, env: dict[str, str]) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing database {name!r}: its name must contain 'bench'")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              [name]).fetchone()
        if exists and recreate:
            print(f"database {name}: dropped and made again (no --reuse)", flush=True)
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    step = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                          cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    if step.returncode != 0:
        sys.exit(f"manage.py migrate failed:\n{step.stdout}{step.stderr}")


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DJANGO_DEBUG="0",
               DATABASE_URL=args.database_url, OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", DJANGO_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               REDIS_URL=f"redis://127.0.0.1:56379/{args.redis_db}")
    return env


def sizes_from(args: argparse.Namespace) -> dict[str, int]:
    sizes = dict(SIZES_SMALL if args.small else SIZES_FULL)
    for key in sizes:
        value = getattr(args, key)
        if value is not None:
            sizes[key] = value
    return sizes


# --- HTTP level --------------------------------------------------------------------------


def search_paths(queries: list[dict[str, Any]], tab: str) -> list[str]:
    """The request paths for a tab: its kind's queries (Top: every kind's), prefix queries
    as-you-type (mode=prefix), the others in full."""
    chosen = [q for q in queries if tab == "top" or TAB_OF[q["kind"]] == tab]
    random.Random(tab).shuffle(chosen)
    return [f"/api/v1/search?q={quote(q['q'])}&tab={tab}&mode="
            f"{'prefix' if q['prefix'] else 'full'}" for q in chosen]


def request_bytes(path: str, port: int) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: swipeme-bench\r\n"
            "Accept: application/json\r\nConnection: keep-alive\r\n\r\n").encode()


async def phase(port: int, paths: list[str], *, connections: int, duration: float,
                timeout: float) -> dict[str, Any]:
    """`connections` keep-alive clients, one request in flight each, cycling through
    `paths` for `duration` seconds."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + duration
    counter = iter(range(10**9))
    requests = [request_bytes(p, port) for p in paths]

    async def client() -> None:
        conn = Connection(port, timeout)
        try:
            while time.perf_counter() < deadline:
                request = requests[next(counter) % len(requests)]
                t0 = time.perf_counter()
                try:
                    status, _ = await conn.get(request)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, HttpError,
                        ValueError) as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    ok = statuses.get(200, 0)
    return {"rps": ok / elapsed, "p50": pct(latencies, 50), "p99": pct(latencies, 99),
            "n": ok, "statuses": statuses, "errors": errors}


async def http_engine(port: int, queries: list[dict[str, Any]],
                      args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    targets = [("ping", ["/api/v1/ping"])] + [
        (tab, search_paths(queries, tab)) for tab in args.tabs.split(",")]
    out: dict[str, dict[str, Any]] = {}
    for name, paths in targets:
        probe = Connection(port, 300.0)  # the first search loads the engine and the model
        status, body = await probe.get(request_bytes(paths[0], port))
        await probe.close()
        if status != 200:
            out[name] = {"error": f"HTTP {status}: {body[:200]!r}"}
            print(f"  {name}: probe answered {status}: {body[:200]!r}", flush=True)
            continue
        await phase(port, paths, connections=1, duration=args.warmup, timeout=args.timeout)
        one = await phase(port, paths, connections=1, duration=args.duration,
                          timeout=args.timeout)
        many = await phase(port, paths, connections=args.concurrency,
                           duration=args.duration, timeout=args.timeout)
        out[name] = {"c1": one, "cN": many}
        bad = {k: v for k, v in {**one["statuses"], **many["statuses"]}.items() if k != 200}
        print(f"  {name:<9} c=1 p50 {one['p50']:7.1f} ms p99 {one['p99']:7.1f} ms "
              f"({one['rps']:6.1f} req/s)  c={args.concurrency} {many['rps']:7.1f} req/s"
              + (f"  non-200 {bad}" if bad else "")
              + (f"  errors {one['errors'] | many['errors']}"
                 if one["errors"] or many["errors"] else ""), flush=True)
    return out


# --- the orchestrating process ----------------------------------------------------------


def engine_env(env: dict[str, str], engine: str, args: argparse.Namespace) -> dict[str, str]:
    return {**env, "SWIPEME_SEARCH_BACKEND": engine,
            "SWIPEME_SEARCH_INDEX_DIR": str(args.index_dir)}


def unthrottled(env: dict[str, str]) -> dict[str, str]:
    """The read and search throttles raised (announced): the benchmark measures searches,
    not 429 answers."""
    return {**env, **dict.fromkeys(("SWIPEME_THROTTLE_ANON_READ", "SWIPEME_THROTTLE_SEARCH_IP",
                                    "SWIPEME_THROTTLE_SEARCH_USER"), "100000000/min")}


def record_engine(run: Run, engine: str, build: dict[str, Any] | None,
                  search: dict[str, Any]) -> None:
    if build and build.get("built"):
        run.figure(f"{engine} build time", build["seconds"], "s")
        run.figure(f"{engine} build peak RSS", build["peak_rss_mb"], "MB")
    if build:
        run.figure(f"{engine} index size", build["size_mb"], "MB")
    for cell, c in search["cells"].items():
        run.figure(f"{engine} {cell} p50", c["p50"], "ms")
        run.figure(f"{engine} {cell} p99", c["p99"], "ms")
        if "recall" in c:
            run.figure(f"{engine} {cell} recall@10", c["recall"])


def print_engine(engine: str, build: dict[str, Any] | None, search: dict[str, Any]) -> None:
    if build and build.get("built"):
        print(f"{engine}: index built in {build['seconds']:.0f} s (process CPU "
              f"{build['cpu_seconds']:.0f} s), peak RSS of the building process "
              f"{build['peak_rss_mb']:.0f} MB, index {build['size_mb']:.0f} MB, "
              f"documents {build['counts']}")
    elif build:
        print(f"{engine}: index reused (built before), {build['size_mb']:.0f} MB, "
              f"documents {build['counts']}")
    print(f"{engine}: opened in {search['open_ms']:.0f} ms; searching process peak RSS "
          f"{search['peak_rss_mb']:.0f} MB" + (f"; ERRORS {search['errors']}"
                                               if search["errors"] else ""))
    print(f"  {'kind/query':<16} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'recall@10':>9} {'empty':>6}")
    for cell, c in search["cells"].items():
        recall = f"{c['recall']:.3f}" if "recall" in c else ""
        empty = f"{c['empty']:.2f}" if "empty" in c else ""
        print(f"  {cell:<16} {c['n']:>5} {c['p50']:>8.2f} {c['p99']:>8.2f} {c['max']:>8.1f} "
              f"{recall:>9} {empty:>6}")
    for miss in search["misses"][:12]:
        print(f"  missed: {miss}")


def verdict(engine: str, search: dict[str, Any],
            http: dict[str, dict[str, Any]] | None) -> list[str]:
    """What this engine did not meet (empty: every target met)."""
    failed = []
    for cell, c in search["cells"].items():
        _kind, qkind = cell.split("/")
        if qkind != "all" and c["p99"] >= TARGET_P99_MS:
            failed.append(f"engine p99 {cell} {c['p99']:.1f} ms >= {TARGET_P99_MS:.0f}")
        if qkind in TARGET_RECALL and c["recall"] < TARGET_RECALL[qkind]:
            failed.append(f"recall@10 {cell} {c['recall']:.3f} < {TARGET_RECALL[qkind]}")
    if http:
        ping = http.get("ping", {})
        for tab, h in http.items():
            if tab == "ping":
                continue
            if "error" in h or "error" in ping:
                failed.append(f"HTTP {tab}: {h.get('error') or ping.get('error')}")
                continue
            if h["c1"]["p99"] >= TARGET_P99_MS:
                failed.append(f"HTTP p99 {tab} {h['c1']['p99']:.1f} ms >= {TARGET_P99_MS:.0f}")
            share = h["cN"]["rps"] / ping["cN"]["rps"]
            if share < 1 / 3:
                failed.append(f"HTTP throughput {tab} {share:.2f} of the no-op's < 1/3")
    return failed


def freshness(engine: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Publish -> searchable and take-down -> gone with a web server and a Celery worker."""
    eenv = unthrottled(engine_env(env, engine, args))
    port = free_port()
    server = Server(port, eenv, BASE_DIR / "var" / "log" / "bench-search-fresh.log")
    log_path = BASE_DIR / "var" / "log" / "bench-search-worker.log"
    print(f"freshness, {engine}: uvicorn on {port} and a Celery worker (log {log_path})",
          flush=True)
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "swipeme_site", "worker", "-Q", "default",
             "--concurrency", "1", "--pool", "solo", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "-n", f"bench-search-{os.getpid()}@%h"],
            cwd=BASE_DIR, env=eenv, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        server.start(timeout=300)
        deadline = time.monotonic() + 120
        while b" ready." not in log_path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.5)
        results = [run_worker("fresh", {"port": port, "timeout": 60.0}, eenv)
                   for _ in range(args.fresh_posts)]
    finally:
        server.stop()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    for r in results:
        print(f"  published (status {r['status']}, commit {r['commit_s'] * 1000:.0f} ms) -> "
              f"searchable {fmt_s(r['searchable_s'])}; taken down (commit "
              f"{r.get('takedown_commit_s', float('nan')) * 1000:.0f} ms) -> gone "
              f"{fmt_s(r.get('gone_s'))} after the commit ({r.get('gone_polls', '-')} "
              "poll(s))", flush=True)
    found = sorted(r["searchable_s"] for r in results if r["searchable_s"] is not None)
    gone = sorted(r["gone_s"] for r in results if r.get("gone_s") is not None)
    return {"posts": len(results), "searchable_s": found, "gone_s": gone,
            "first_poll_gone": sum(1 for r in results if r.get("gone_polls") == 1),
            "median_searchable_s": found[len(found) // 2] if found else None,
            "max_gone_s": gone[-1] if gone else None}


def fmt_s(value: float | None) -> str:
    return "NEVER (60 s)" if value is None else f"{value:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true",
                        help=f"a small catalogue to try the script: {SIZES_SMALL}")
    for key, value in SIZES_FULL.items():
        parser.add_argument(f"--{key}", type=int, default=None,
                            help=f"catalogue size (default {value:,})")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the bench database's catalogue (same sizes and seed) "
                        "and the indexes built from it")
    parser.add_argument("--rebuild", action="store_true",
                        help="build the indexes in every run (default: first run only)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_SEARCH_DATABASE_URL",
                                                                 DEFAULT_DB))
    parser.add_argument("--index-dir", type=Path, default=BASE_DIR / "var" / "bench"
                        / "search-index", help="SWIPEME_SEARCH_INDEX_DIR for the engines")
    parser.add_argument("--redis-db", type=int, default=6)
    parser.add_argument("--queries", type=int, default=100,
                        help="queries per kind x query kind (default 100)")
    parser.add_argument("--batch", type=int, default=None,
                        help="documents per index write when building (default: "
                        "search_rebuild's)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--duration", type=float, default=10.0,
                        help="HTTP: measured seconds per endpoint and phase (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--no-http", action="store_true", help="engine level only")
    parser.add_argument("--tabs", default=",".join(HTTP_TABS),
                        help="HTTP: the tabs measured after the no-op (default every tab; "
                        "e.g. --tabs top to time Top alone: the engine pass and the no-op "
                        "still run, the other tabs' HTTP figures are then absent)")
    parser.add_argument("--no-freshness", action="store_true")
    parser.add_argument("--fresh-posts", type=int, default=5,
                        help="posts published and taken down for the freshness figures")
    parser.add_argument("--seed-only", action="store_true",
                        help="make the catalogue and stop")
    parser.add_argument("--freshness-only", action="store_true",
                        help="only publish -> searchable and take-down -> gone (built index)")
    add_arguments(parser, default_runs=3)
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    if not args.tabs or not set(args.tabs.split(",")) <= set(HTTP_TABS):
        parser.error(f"--tabs: among {HTTP_TABS}")
    if not set(engines) <= set(ENGINES):
        parser.error(f"--engines: among {ENGINES}")
    if args.small and args.database_url == DEFAULT_DB:
        args.database_url = DEFAULT_DB + "_small"  # never mixed with the full catalogue
        args.index_dir = args.index_dir.with_name(args.index_dir.name + "-small")
    env = bench_env(args)
    sizes = sizes_from(args)
    print("SwipeMe search benchmark: tantivy against PostgreSQL full text + pg_trgm")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPU core(s); load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} (1/5/15 min)")
    print(f"catalogue: {sizes} seed {args.seed}; database {args.database_url}", flush=True)
    started = time.monotonic()
    ensure_database(args.database_url, recreate=not args.reuse, env=env)
    if not args.reuse and args.index_dir.exists():
        shutil.rmtree(args.index_dir)
    seeded = run_worker("seed", {"sizes": sizes, "seed": args.seed, "reuse": args.reuse}, env)
    if seeded.get("mismatch"):
        print(f"the bench database holds another or an unfinished catalogue "
              f"({seeded['meta']}): made again", flush=True)
        ensure_database(args.database_url, recreate=True, env=env)
        if args.index_dir.exists():
            shutil.rmtree(args.index_dir)
        seeded = run_worker("seed", {"sizes": sizes, "seed": args.seed, "reuse": False}, env)
    meta = seeded["meta"]
    print(f"catalogue {'made' if seeded['seeded'] else 'reused'}: seeded at "
          f"{meta.get('seeded_at')} in {meta.get('seconds')} s"
          + (f", generator peak RSS {seeded['peak_rss_mb']:.0f} MB" if seeded["seeded"]
             else "") + f" (this step {time.monotonic() - started:.0f} s)", flush=True)
    if args.seed_only:
        return 0
    if args.freshness_only:
        print(f"\nfreshness ({engines[0]}): {freshness(engines[0], env, args)}")
        return 0
    queries = run_worker("queries", {"per_cell": args.queries, "seed": args.seed},
                         env)["queries"]
    db_name = urlparse(args.database_url).path.lstrip("/")
    queries_path = BASE_DIR / "var" / "bench" / f"search-queries-{db_name}.json"
    queries_path.write_text(json.dumps(queries, ensure_ascii=False))
    print(f"queries: {len(queries):,} ({args.queries} per kind x query kind at most; "
          f"{queries_path}); examples:")
    for kind in KINDS:
        for qkind in QKINDS:
            example = next((q["q"] for q in queries
                            if q["kind"] == kind and q["qkind"] == qkind), "-")
            print(f"  {kind}/{qkind}: {example!r}")
    runs = Runs("search_speed", args)
    batch = args.batch or 0
    last: dict[str, Any] = {}
    for run in runs:
        for engine in engines:
            eenv = engine_env(env, engine, args)
            build = None
            if run.index == 1 or args.rebuild:
                print(f"{engine}: building the index (pipeline.rebuild) ...", flush=True)
                params = {"engine": engine, "reuse": args.reuse and run.index == 1}
                params["batch"] = batch or default_batch()
                build = run_worker("build", params, eenv)
            search = run_worker("search", {"engine": engine,
                                           "queries_path": str(queries_path)}, eenv)
            print_engine(engine, build, search)
            record_engine(run, engine, build, search)
            last[engine] = {"search": search, "build": build}
        if args.no_http:
            continue
        for engine in engines:
            eenv = unthrottled(engine_env(env, engine, args))
            port = free_port()
            server = Server(port, eenv, BASE_DIR / "var" / "log"
                            / f"bench-search-{engine}.log")
            print(f"HTTP, {engine}: uvicorn on {port} (one worker, signed out; read and "
                  "search throttles raised to 100000000/min); tabs: the no-op, "
                  f"{args.tabs}", flush=True)
            server.start(timeout=300)
            try:
                http = asyncio.run(http_engine(port, queries, args))
            finally:
                server.stop()
            last[engine]["http"] = http
            ping = http.get("ping", {})
            for tab, h in http.items():
                if "error" in h:
                    continue
                run.figure(f"{engine} HTTP {tab} c=1 p50", h["c1"]["p50"], "ms")
                run.figure(f"{engine} HTTP {tab} c=1 p99", h["c1"]["p99"], "ms")
                run.figure(f"{engine} HTTP {tab} c={args.concurrency} req/s", h["cN"]["rps"])
                if tab != "ping" and "error" not in ping:
                    run.ratio(f"{engine} HTTP {tab}/ping throughput", h["cN"]["rps"],
                              ping["cN"]["rps"])
                    run.ratio(f"{engine} HTTP {tab}/ping p99 c=1", h["c1"]["p99"],
                              ping["c1"]["p99"])
    fresh = None
    if not args.no_freshness:
        fresh = freshness(engines[0], env, args)
    summary = runs.summary()
    if fresh is not None:
        print(f"\nfreshness ({engines[0]}, real outbox + Celery drain, signed-out search): "
              f"{fresh}")
    print("\n=== verdict (last run; medians above) ===")
    meets = {}
    for engine in engines:
        failed = verdict(engine, last[engine]["search"], last[engine].get("http"))
        meets[engine] = not failed
        print(f"{engine}: " + ("every target met" if not failed else
                               "NOT met: " + "; ".join(failed)))
    chosen = [e for e in engines if meets[e]]
    print("engine that meets the targets: " + (", ".join(chosen) if chosen else "none"))
    if args.json:
        summary["verdict"] = {e: verdict(e, last[e]["search"], last[e].get("http"))
                              for e in engines}
        summary["last"] = last
        summary["catalogue"] = meta
        summary["freshness"] = fresh
        args.json.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return 0


def default_batch() -> int:
    return 1000  # apps.search.indexing.pipeline.REBUILD_BATCH, what search_rebuild uses


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker_main(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(main())
