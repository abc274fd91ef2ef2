"""What a search request costs in process, against the no-op (`GET /api/v1/ping`).

    .venv/bin/python bench/search_request_cost.py --runs 3          # after search_speed --small

Django's test client through the whole middleware stack and DRF (no network, no server),
on the small bench catalogue that `bench/search_speed.py --small` made (database
`bench_search_small`, index `var/bench/search-index-small`, the same queries file), signed
out, dev settings with DEBUG off, the search throttles raised as the HTTP bench does (they
still run: one Redis round trip). Per target (the no-op, then each tab over the paths the
HTTP bench sends, as-you-type and full), after one warm pass over every path (query
vectors embedded and cached, statements compiled): per request the wall time, the
process's CPU time (`time.process_time`, every thread: the embedding pool too), the wall
time inside `services.search` (the search itself) and inside the answer's serialisation;
the rest is the request's path outside the search (middleware, DRF dispatch,
authentication, throttles, rendering). Medians over `--runs` passes.

`--profile TAB` prints cProfile's top functions (cumulative) for one pass over the tab.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))
sys.path.insert(0, str(BASE_DIR))

TABS = ("top", "accounts", "videos", "sounds", "hashtags")


def setup(args: argparse.Namespace) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DJANGO_DEBUG="0",
        DATABASE_URL=args.database_url, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
        DJANGO_LOG_LEVEL="WARNING", REDIS_URL=f"redis://127.0.0.1:56379/{args.redis_db}",
        SWIPEME_SEARCH_BACKEND="tantivy", SWIPEME_SEARCH_INDEX_DIR=str(args.index_dir),
        **dict.fromkeys(("SWIPEME_THROTTLE_ANON_READ", "SWIPEME_THROTTLE_SEARCH_IP",
                         "SWIPEME_THROTTLE_SEARCH_USER"), "100000000/min"))
    import django

    django.setup()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url",
                        default="postgres://postgres@127.0.0.1:54329/bench_search_small")
    parser.add_argument("--index-dir", type=Path,
                        default=BASE_DIR / "var" / "bench" / "search-index-small")
    parser.add_argument("--queries-file", type=Path, default=BASE_DIR / "var" / "bench"
                        / "search-queries-bench_search_small.json")
    parser.add_argument("--redis-db", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tabs", default=",".join(TABS))
    parser.add_argument("--profile", choices=(*TABS, "ping"), default=None)
    parser.add_argument("--cold-candidates", action="store_true",
                        help="empty the candidate cache before every request (every "
                        "search asks the engine: the cost of a miss)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    setup(args)

    from django.test import Client
    from search_speed import search_paths

    from apps.search import services
    from apps.search.api import views
    from apps.search.services import retrieval

    clear_candidates = getattr(retrieval, "clear_candidate_cache", None)  # absent before it

    queries: list[dict[str, Any]] = json.loads(args.queries_file.read_text())
    inside = {"search": 0.0, "serialise": 0.0, "search_cpu": 0.0}
    real_search = services.search
    real_serializer = getattr(views, "SearchAnswerSerializer")  # noqa: B009  # replaced below

    def timed_search(**kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return real_search(**kwargs)
        finally:
            inside["search"] += time.perf_counter() - t0
            inside["search_cpu"] += time.process_time() - c0

    class TimedSerializer(real_serializer):  # type: ignore[misc, valid-type]
        @property
        def data(self) -> Any:
            t0 = time.perf_counter()
            try:
                return super().data
            finally:
                inside["serialise"] += time.perf_counter() - t0

    services.search = timed_search  # type: ignore[assignment]  # the view looks it up per call
    setattr(views, "SearchAnswerSerializer", TimedSerializer)  # noqa: B010  # the view reads it

    client = Client()
    targets = [("ping", ["/api/v1/ping"] * 200)] + [
        (tab, search_paths(queries, tab)) for tab in args.tabs.split(",")]

    def one_pass(paths: list[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {"wall": [], "cpu": [], "search": [], "serialise": [],
                                       "search_cpu": [], "outside": [], "outside_cpu": []}
        for path in paths:
            inside["search"] = inside["serialise"] = inside["search_cpu"] = 0.0
            if args.cold_candidates and clear_candidates is not None:
                clear_candidates()
            c0, w0 = time.process_time(), time.perf_counter()
            response = client.get(path, HTTP_ACCEPT="application/json")
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if response.status_code != 200:
                sys.exit(f"{path}: HTTP {response.status_code} {response.content[:200]!r}")
            out["wall"].append(wall * 1000)
            out["cpu"].append(cpu * 1000)
            out["search"].append(inside["search"] * 1000)
            out["serialise"].append(inside["serialise"] * 1000)
            out["search_cpu"].append(inside["search_cpu"] * 1000)
            out["outside"].append((wall - inside["search"] - inside["serialise"]) * 1000)
            out["outside_cpu"].append((cpu - inside["search_cpu"]) * 1000)
        return out

    load = os.getloadavg()
    print(f"load before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    results: dict[str, Any] = {"load_before": load}
    for name, paths in targets:
        one_pass(paths)  # warm: vectors embedded, statements compiled, caches filled
        if args.profile == name:
            profiler = cProfile.Profile()
            profiler.enable()
            one_pass(paths)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("PSORT", "cumulative")).print_stats(
                int(os.environ.get("PLINES", "45")))
        runs = [one_pass(paths) for _ in range(args.runs)]
        row: dict[str, float] = {}
        for key in ("wall", "cpu", "search", "serialise", "search_cpu", "outside",
                    "outside_cpu"):
            row[f"{key}_p50"] = statistics.median(statistics.median(r[key]) for r in runs)
            row[f"{key}_mean"] = statistics.median(statistics.fmean(r[key]) for r in runs)
        row["wall_p90"] = statistics.median(pct(r["wall"], 90) for r in runs)
        if clear_candidates is not None:
            row.update({f"candidate_cache_{k}": v
                        for k, v in retrieval.candidate_cache_stats().items()})
            clear_candidates()
        results[name] = row
        print(f"{name:<9} n={len(paths):>3} wall p50 {row['wall_p50']:6.2f} p90 "
              f"{row['wall_p90']:6.2f} mean {row['wall_mean']:6.2f} ms | cpu mean "
              f"{row['cpu_mean']:6.2f} | search p50 {row['search_p50']:6.2f} cpu mean "
              f"{row['search_cpu_mean']:6.2f} | serialise p50 {row['serialise_p50']:5.2f} | "
              f"outside the search p50 {row['outside_p50']:5.2f} cpu mean "
              f"{row['outside_cpu_mean']:5.2f}"
              + (f" | candidate cache hits {row['candidate_cache_hits']:.0f} misses "
                 f"{row['candidate_cache_misses']:.0f}" if clear_candidates else ""),
              flush=True)
    ping_cpu = results["ping"]["cpu_mean"]
    for name in args.tabs.split(","):
        share = ping_cpu / results[name]["cpu_mean"]
        results[name]["cpu_share_of_noop"] = share
        print(f"{name:<9} no-op cpu / tab cpu = {share:.3f}  (the throughput share a "
              f"CPU-bound worker would reach)")
    load = os.getloadavg()
    results["load_after"] = load
    print(f"load after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
