"""Where a Top search's time goes, stage by stage, in process at the bench's catalogue.

    .venv/bin/python bench/search_top_stages.py                 # the full catalogue, 400 paths
    .venv/bin/python bench/search_top_stages.py --passes 2      # the same paths again (warm)

Django's test client through the whole stack (as `search_request_cost.py`), on the catalogue
and index `bench/search_speed.py` made (default: the full one, `bench_search` and
`var/bench/search-index`, its queries file), signed out, throttles raised. The Top paths
the HTTP bench sends, in its order (`search_speed.search_paths`), from a fresh process: the
candidate cache starts empty as in the bench's server. Each stage is timed by wrapping the
function the Top ranker calls (wall time, and the request thread's CPU time): the engine's
four kinds, the semantic candidates (the wait for the query's embedding, the HNSW
statement), the video facts statement, the accounts / hashtags / sounds statements, the
lives, the ranking, the page's display statement, the serialisation; and the process's CPU
per request (every thread: the engine pool's, an embedding's). Per stage: p50, p99,
max and the mean over the paths; then the slowest requests with their stages, and, with
`--passes 2`, whether a slow request is slow again (per query) or not (random).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))
sys.path.insert(0, str(BASE_DIR))

STAGES = ("engine", "embed_wait", "hnsw", "facts", "ranking", "accounts", "lives",
          "hashtags", "sounds", "display", "serialise", "search", "request", "process_cpu")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url",
                        default="postgres://postgres@127.0.0.1:54329/bench_search")
    parser.add_argument("--index-dir", type=Path,
                        default=BASE_DIR / "var" / "bench" / "search-index")
    parser.add_argument("--queries-file", type=Path, default=BASE_DIR / "var" / "bench"
                        / "search-queries-bench_search.json")
    parser.add_argument("--redis-db", type=int, default=6)
    parser.add_argument("--paths", type=int, default=400,
                        help="the first N Top paths of the bench's order")
    parser.add_argument("--skip", type=int, default=0, help="start at this path")
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--slowest", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from search_request_cost import pct, setup

    setup(args)

    from django.test import Client
    from search_speed import search_paths

    import apps.feed.pools.queries as feed_queries
    from apps.search import selectors
    from apps.search.api import views
    from apps.search.services import query as query_pkg
    from apps.search.services import retrieval
    from apps.search.services.query import top, use_case

    current: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            w0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                current[name][0] += (time.perf_counter() - w0) * 1000
                current[name][1] += (time.thread_time() - c0) * 1000
        return wrapper

    real_nearest = feed_queries.nearest_posts
    feed_queries.nearest_posts = timed("hnsw", real_nearest)  # type: ignore[assignment]
    real_qv = retrieval._query_vector

    class TimedFuture:
        def __init__(self, future: Any) -> None:
            self._f = future

        def result(self, timeout: float | None = None) -> Any:
            return timed("embed_wait", self._f.result)(timeout=timeout)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._f, name)

    def query_vector(text: str) -> Any:
        return TimedFuture(real_qv(text))

    query_vector.cache_clear = real_qv.cache_clear  # type: ignore[attr-defined]
    retrieval._query_vector = query_vector  # type: ignore[assignment]
    retrieval.keyword_hits_many = timed("engine", retrieval.keyword_hits_many)  # type: ignore[assignment]
    selectors.video_facts_and_on_air = timed(  # type: ignore[assignment]
        "facts", selectors.video_facts_and_on_air)
    for attr, name in (("videos_by_score", "ranking"), ("ranked_accounts", "accounts"),
                       ("ranked_lives", "lives"), ("ranked_hashtags", "hashtags"),
                       ("ranked_sounds", "sounds")):
        setattr(top, attr, timed(name, getattr(top, attr)))
    setattr(use_case, "for_display",  # noqa: B010
            timed("display", getattr(use_case, "for_display")))  # noqa: B009
    real_search = query_pkg.search
    from apps.search import services

    services.search = timed("search", real_search)  # type: ignore[assignment]
    real_serializer = getattr(views, "SearchAnswerSerializer")  # noqa: B009

    class TimedSerializer(real_serializer):  # type: ignore[misc, valid-type]
        @property
        def data(self) -> Any:
            return timed("serialise", lambda: real_serializer.data.fget(self))()

    setattr(views, "SearchAnswerSerializer", TimedSerializer)  # noqa: B010

    queries = json.loads(args.queries_file.read_text())
    paths = search_paths(queries, "top")[args.skip:args.skip + args.paths]
    client = Client()
    client.get("/api/v1/ping")
    client.get("/api/v1/search?q=warm&tab=accounts&mode=full")  # engine and model loaded
    gc_pauses: list[float] = []

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_pauses.append(time.perf_counter())
        elif gc_pauses:
            gc_pauses[-1] = (time.perf_counter() - gc_pauses[-1]) * 1000 + 1e9 * info[
                "generation"]

    load = os.getloadavg()
    print(f"load before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {len(paths)} Top paths, "
          f"{sum('mode=prefix' in p for p in paths)} as-you-type", flush=True)
    passes: list[list[dict[str, Any]]] = []
    for _ in range(args.passes):
        rows: list[dict[str, Any]] = []
        for path in paths:
            current.clear()
            gc_pauses.clear()
            gc.callbacks.append(on_gc)
            w0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
            response = client.get(path, HTTP_ACCEPT="application/json")
            current["request"] = [(time.perf_counter() - w0) * 1000,
                                  (time.thread_time() - c0) * 1000]
            # every thread's CPU (the engine pool's, an embedding's) in the wall's column
            current["process_cpu"] = [(time.process_time() - p0) * 1000, 0.0]
            gc.callbacks.remove(on_gc)
            if response.status_code != 200:
                sys.exit(f"{path}: HTTP {response.status_code}")
            row = {"path": path, "gc": [(int(p // 1e9), round(p % 1e9, 2)) for p in gc_pauses],
                   "results": len(response.json()["results"])}
            row.update({k: tuple(v) for k, v in current.items()})
            rows.append(row)
        passes.append(rows)
    load = os.getloadavg()
    out: dict[str, Any] = {"load_after": load, "passes": []}
    for n, rows in enumerate(passes, start=1):
        print(f"\npass {n}: stage wall ms p50 / p99 / max / mean (CPU mean of the request "
              "thread)")
        summary = {}
        for stage in STAGES:
            wall = [r.get(stage, (0.0, 0.0))[0] for r in rows]
            cpu = [r.get(stage, (0.0, 0.0))[1] for r in rows]
            summary[stage] = {"p50": pct(wall, 50), "p99": pct(wall, 99), "max": max(wall),
                              "mean": statistics.fmean(wall), "cpu_mean": statistics.fmean(cpu)}
            s = summary[stage]
            print(f"  {stage:<10} {s['p50']:7.2f} {s['p99']:7.2f} {s['max']:7.2f} "
                  f"{s['mean']:7.2f}  cpu {s['cpu_mean']:6.2f}")
        gcs = [p for r in rows for p in r["gc"]]
        print(f"  GC passes {len(gcs)}: gen2 {sum(g == 2 for g, _ in gcs)} "
              f"(max {max((ms for g, ms in gcs if g == 2), default=0):.1f} ms), gen1 "
              f"{sum(g == 1 for g, _ in gcs)} (max "
              f"{max((ms for g, ms in gcs if g == 1), default=0):.1f} ms)")
        slow = sorted(rows, key=lambda r: -r["request"][0])[:args.slowest]
        print("  slowest:")
        for r in slow:
            stages = ", ".join(f"{k} {r[k][0]:.1f}" for k in STAGES[:-2]
                               if k in r and r[k][0] >= 1.0)
            print(f"   {r['request'][0]:6.1f} ms ({stages}; gc {r['gc']}) {r['path'][15:80]}")
        out["passes"].append({"summary": summary, "rows": rows})
    if len(passes) > 1:
        first = {r["path"]: r["request"][0] for r in passes[0]}
        last = {r["path"]: r["request"][0] for r in passes[-1]}
        cut = pct(list(first.values()), 95)
        slow_first = [p for p, ms in first.items() if ms >= cut]
        again = [p for p in slow_first if last[p] >= pct(list(last.values()), 90)]
        print(f"\nslowest 5% of pass 1 ({len(slow_first)}): {len(again)} among the slowest "
              f"10% of pass {len(passes)}")
    print(f"load after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
