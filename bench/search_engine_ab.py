"""The tantivy engine before and after a change, on the same index, queries and load.

    flock /tmp/helpers/bench.lock .venv/bin/python bench/search_engine_ab.py --old-rev REV

On a shared machine the load moves between two runs of `search_speed.py` more than a change
moves the latencies, so this runs the engine of git revision REV (`apps/search/engine/
tantivy_backend.py` as it was there) and the working tree's in one process, on the index
`search_speed.py --reuse` built (var/bench/search-index) and its queries (var/bench/
search-queries-bench_search.json), alternating query by query: both see the same load.
Prints p50/p99 (ms) per kind x query kind and per kind for each engine. The index's
schema must be the same in both revisions (read only here). Recall is `search_speed.py`'s
(it judges equivalent entries against the database)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
MODULE = "apps/search/engine/tantivy_backend.py"


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (as search_speed.py's)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def old_engine(rev: str) -> Any:
    """The backend class of `rev`, its relative imports made absolute (the rest of the
    engine package is the working tree's)."""
    source = subprocess.run(["git", "show", f"{rev}:{MODULE}"], cwd=BASE_DIR, check=True,
                            capture_output=True, text=True).stdout
    source = source.replace("from .base import", "from apps.search.engine.base import")
    source = source.replace("from .text import", "from apps.search.engine.text import")
    path = Path(tempfile.mkdtemp()) / "old_tantivy_backend.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_tantivy_backend", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TantivyBackend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old-rev", required=True)
    parser.add_argument("--index-dir", type=Path,
                        default=BASE_DIR / "var" / "bench" / "search-index" / "tantivy")
    parser.add_argument("--queries", type=Path,
                        default=BASE_DIR / "var" / "bench" / "search-queries-bench_search.json")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from apps.search.engine.tantivy_backend import TantivyBackend

    engines = {"before": old_engine(args.old_rev)(args.index_dir),
               "after": TantivyBackend(args.index_dir)}
    queries = json.loads(args.queries.read_text())
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {len(queries)} queries; "
          f"before = {args.old_rev}, after = working tree")
    for engine in engines.values():  # warm both (dictionaries, caches)
        for q in queries[::10]:
            engine.search(q["kind"], q["q"], limit=10, prefix=q["prefix"])
    times: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
    for round_no in range(args.rounds):
        order = list(engines.items())
        if round_no % 2:
            order.reverse()
        for q in queries:
            for name, engine in order:
                started = time.perf_counter()
                engine.search(q["kind"], q["q"], limit=10, prefix=q["prefix"])
                elapsed = (time.perf_counter() - started) * 1000
                for cell in (f"{q['kind']}/{q['qkind']}", f"{q['kind']}/all"):
                    times[name].setdefault(cell, []).append(elapsed)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print(f"{'cell':16} {'before p50':>10} {'p99':>8} {'after p50':>10} {'p99':>8}")
    for cell in sorted(times["before"]):
        b, a = times["before"][cell], times["after"][cell]
        print(f"{cell:16} {statistics.median(b):10.2f} {pct(b, 99):8.2f} "
              f"{statistics.median(a):10.2f} {pct(a, 99):8.2f}")


if __name__ == "__main__":
    main()
