"""Offline evaluation of the ranker on the seeded bench database (1,000,000 aggregates).

    DATABASE_URL=postgres://postgres@127.0.0.1:54329/bench_reco \\
        .venv/bin/python bench/reco_offline.py [--no-activate]

Runs exactly what the daily reco task runs (`services.ranker_train`: load the per user x
post aggregates, split by time — history before T1, training rows in [T1, T2), held-out
rows after T2 — fit the four LightGBM heads, score the held-out rows) and prints AUC,
NDCG@10 and recall@50 of the ranker next to the popularity and chronological baselines
measured on the same held-out rows. The new version is activated (for bench/feed_speed.py)
unless --no-activate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:54329/bench_reco")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from apps.feed import services  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-activate", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    print(f"database {connection.settings_dict['NAME']}")
    started = time.time()
    row = services.ranker_train(n_jobs=args.jobs, activate=not args.no_activate)
    print(f"ranker v{row.version} trained in {time.time() - started:.0f}s "
          f"({'active' if row.is_active else 'inactive'}); trained on: "
          f"{ {k: v for k, v in row.trained_on.items() if k not in ('features',)} }")
    print(f"\n{'policy':<14} {'AUC(completion)':>16} {'NDCG@10':>8} {'recall@50':>10}")
    for policy in ("ranker", "popularity", "chronological"):
        m = row.metrics.get(policy, {})
        print(f"{policy:<14} {m.get('auc_completion')!s:>16} {m.get('ndcg@10')!s:>8} "
              f"{m.get('recall@50')!s:>10}")
    extra = {k: v for k, v in row.metrics.get("ranker", {}).items()
             if k not in ("auc_completion", "ndcg@10", "recall@50")}
    print(f"ranker, other heads: {extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
