"""For You in process: the thread CPU of a page scored from scratch, per stage, for a
viewer's first page in the process and for their later ones.

    flock /tmp/bench.lock .venv/bin/python bench/feed_page_cpu.py [--users 48 --pages 96]

Needs the seeded bench database with an active ranker (see bench/feed_speed.py) and its
pools published (`feed_speed.py` publishes them; or `manage.py feed_refresh`). Every page
goes through Django's full stack (the test client: middleware, the app session token, the
DRF view, the serializer) with `SWIPEME_FEED_SCORED_TTL=0`, the viewers bench1..N in turn
(their feed seen-sets emptied first, in Redis db `--redis-db`), so the first N pages are
each viewer's first in this process (the per-viewer caches and compiled statements are
cold: what the one-connection phase of `feed_speed.py --scored-only` mostly measures) and
the next N their second. Prints the medians of both, and with `--stages` each stage's
thread CPU per page (wrappers around the serving functions; LightGBM runs on this thread),
over all pages and for first and later visits apart.
Thread CPU moves less with the machine's load than wall time, but still moves: compare
runs interleaved (an older tree: `git archive <commit> | tar -x -C /tmp/old`, link .venv
and var, and run this file from there)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

# The tree run from (an older one for a before/after), else this file's.
BASE_DIR = Path.cwd() if (Path.cwd() / "manage.py").exists() \
    else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=48)
    parser.add_argument("--pages", type=int, default=96, help="2 x --users: first and second")
    parser.add_argument("--stages", action="store_true")
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:54329/bench_reco"))
    args = parser.parse_args()
    os.environ.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.dev", DJANGO_DEBUG="0",
                      DATABASE_URL=args.database_url, OPENBLAS_NUM_THREADS="1",
                      OMP_NUM_THREADS="1", SWIPEME_THROTTLE_ANON_READ="100000000/min",
                      DJANGO_LOG_LEVEL="WARNING", SWIPEME_FEED_SCORED_TTL="0",
                      REDIS_URL=f"redis://127.0.0.1:56379/{args.redis_db}")
    import django

    django.setup()
    import numpy as np
    import redis
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.test import Client

    from apps.accounts.models import User
    from apps.feed import ranking

    model = ranking.active_model()
    print(f"load average {os.getloadavg()[0]:.2f}; ranker "
          f"{'v' + str(model.version) if model else 'none (heuristic)'}; tree {BASE_DIR}")
    names = [f"bench{i}" for i in range(1, args.users + 1)]
    users = sorted(User.objects.filter(username__in=names), key=lambda u: names.index(u.username))
    client = redis.Redis.from_url(f"redis://127.0.0.1:56379/{args.redis_db}")
    client.delete(*[f"feed:{kind}:u:{u.pk}" for u in users for kind in ("seen", "explain")])

    def token(user: Any) -> str:
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return str(store.session_key)

    tokens = [token(u) for u in users]
    cpu_of: dict[str, float] = defaultdict(float)
    if args.stages:
        wrap_stages(cpu_of)
    http = Client()
    url = "/api/v1/feed/for-you?limit=8"
    http.get(url, HTTP_X_SESSION_TOKEN=tokens[0])  # loads the pools and the model
    cpu_of.clear()
    cpu: list[float] = []
    posts = 0
    n = len(tokens)
    by_visit: dict[str, dict[str, float]] = {"first": defaultdict(float),
                                             "later": defaultdict(float)}
    for i in range(args.pages):
        before = dict(cpu_of)
        began = time.thread_time()
        response = http.get(url, HTTP_X_SESSION_TOKEN=tokens[i % len(tokens)])
        cpu.append(time.thread_time() - began)
        if i >= 1:  # page 0 is bench1's second (the warm-up was its first)
            visit = by_visit["first" if i < n else "later"]
            for name, seconds in cpu_of.items():
                visit[name] += seconds - before.get(name, 0.0)
        if response.status_code != 200:
            sys.exit(f"page {i}: {response.status_code} {response.content[:300]!r}")
        posts += sum(1 for item in response.json()["results"] if item.get("type") == "post")
    print(f"{args.pages} pages, {posts / args.pages:.2f} posts per page; thread CPU per page "
          f"median {1000 * np.median(cpu):.1f} ms; first visits (pages 2-{n}) median "
          f"{1000 * np.median(cpu[1:n]):.1f} ms; later visits median "
          f"{1000 * np.median(cpu[n:]) if len(cpu) > n else float('nan'):.1f} ms; "
          f"load average {os.getloadavg()[0]:.2f}")
    firsts, laters = max(1, min(n, args.pages) - 1), max(1, args.pages - n)
    if cpu_of:
        print(f"  {'stage (thread CPU, mean ms per page)':<44} {'all':>6} {'first':>6} "
              f"{'later':>6}")
    for name, seconds in cpu_of.items():
        print(f"  {name:<44} {1000 * seconds / args.pages:6.2f} "
              f"{1000 * by_visit['first'][name] / firsts:6.2f} "
              f"{1000 * by_visit['later'][name] / laters:6.2f}")
    return 0


def wrap_stages(cpu_of: dict[str, float]) -> None:
    """Each stage's thread CPU, summed (nested stages are indented under their caller)."""
    from apps.feed import online, ranking
    from apps.feed.api import views
    from apps.feed.serving import pages, scoring

    def wrap(owner: Any, name: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(owner, name)

        def timed(*a: Any, **k: Any) -> Any:
            began = time.thread_time()
            try:
                return inner(*a, **k)
            finally:
                cpu_of[label] += time.thread_time() - began

        setattr(owner, name, timed)

    wrap(pages, "viewer_context", "viewer rows + online dislikes")
    wrap(pages, "_score_for", "stages 1-2 with their reads")
    wrap(scoring, "_describe_positives", "  positives described")
    wrap(scoring, "_followed_recent", "  followed creators' posts")
    wrap(scoring, "_similar", "  similar (pgvector, described)")
    wrap(scoring, "coengaged_scores", "  co-engaged scores")
    wrap(scoring, "generate", "  stage 1 (generate, seen-sets inside)")
    wrap(pages, "_seen_among", "    seen-sets")
    wrap(scoring, "_cf_for", "  CF scores")
    wrap(ranking, "feature_matrix", "  feature matrix")
    wrap(ranking.LoadedModel, "score", "  ranker (LightGBM heads)")
    wrap(pages, "allowed", "safety gate")
    wrap(pages, "hydrate", "hydration")
    wrap(online, "record_page", "record page")
    wrap(pages, "_fill_ads", "ads")
    wrap(views, "_render", "serialising the posts")


if __name__ == "__main__":
    raise SystemExit(main())
