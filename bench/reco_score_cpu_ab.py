"""serving.score CPU per user: an older tree's feed code against this tree's, in one process,
on the offline protocol's world (bench/reco_offline.py: 900 users, seed 11, the model, the
pools and the first 150 tune users), variants interleaved pass by pass (process time).

    git archive <commit> apps/feed | tar -x -C /tmp/feed_before     # the older code
    flock /tmp/bench.lock .venv/bin/python bench/reco_score_cpu_ab.py /tmp/feed_before \\
        --passes 7 --budgets 900,1100

The older tree's `apps/feed/candidates.py` and `apps/feed/serving/scoring.py` are loaded
beside this tree's (the rest of apps.feed is shared: the ranker, the features and the pools
must be the same in both); "before" runs at `--before-budget`, "after" at each budget.
Issue 21: the candidate budget must not raise a scored page's CPU."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling scripts
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as reco_offline, before numpy loads
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import reco_offline as ro  # sets Django up

from apps.feed import candidates, serving, training
from apps.feed.candidates import take
from apps.feed.pools import Catalogue


def load_before(root: Path) -> tuple[Any, Any]:
    """The older tree's candidates and scoring modules (its scoring bound to its own
    candidates)."""
    spec = importlib.util.spec_from_file_location(
        "before_candidates", root / "apps/feed/candidates.py")
    assert spec is not None
    assert spec.loader is not None
    cand = importlib.util.module_from_spec(spec)
    sys.modules["before_candidates"] = cand
    spec.loader.exec_module(cand)
    src = (root / "apps/feed/serving/scoring.py").read_text()
    src = src.replace("from apps.feed import candidates, pools, ranking, scored_cache",
                      "from apps.feed import pools, ranking, scored_cache\n"
                      "import before_candidates as candidates")
    src = src.replace("from apps.feed.candidates import (", "from before_candidates import (")
    scoring = types.ModuleType("before_scoring")
    sys.modules["before_scoring"] = scoring
    exec(compile(src, str(root / "apps/feed/serving/scoring.py"), "exec"),
         scoring.__dict__)
    return cand, scoring


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="a tree holding the older apps/feed")
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--budgets", default="900,1100", help="this tree's budgets")
    parser.add_argument("--before-budget", type=int, default=900)
    parser.add_argument("--users", type=int, default=150, help="tune users scored a pass")
    args = parser.parse_args(argv)
    before_cand, before_scoring = load_before(args.before)
    from reco_simulate import make_world

    rng = np.random.default_rng(11)
    world = make_world(rng, users=900, creators=250, posts=4000, days=1)
    world.cat.published = ro.NOW - rng.uniform(0, 10 * ro.DAY, len(world.cat))
    ev = ro.make_log(world, rng, per_user=120)
    sp = ro.split(ev, n_out=5)
    users = sp.tune[: args.users]
    model, hist, counted, p = ro._fixed_world(world, sp, jobs=1)

    def lookup(ids: list[int]) -> Catalogue:
        return take(counted, np.array(ids, dtype=np.int64) - 1)

    ctxs = [training.context_for(u, hist, counted, follows=set(), language=world.language[u])
            for u in users]
    variants = [("before", args.before_budget)] + [
        ("after", int(b)) for b in args.budgets.split(",") if b]
    times: dict[tuple[str, int], list[float]] = {v: [] for v in variants}
    sizes: dict[tuple[str, int], float] = {}
    for round_ in range(args.passes + 1):  # round 0 warms up and is not counted
        for name, budget in variants:
            scoring: Any = before_scoring if name == "before" else serving
            cand: Any = before_cand if name == "before" else candidates
            saved = cand.CANDIDATE_BUDGET
            cand.CANDIDATE_BUDGET = budget
            kept = 0
            start = time.process_time()
            for u, ctx in zip(users, ctxs, strict=True):
                ctx.cf_user = None
                out = scoring.score(p, ctx, model=model, now=ro.NOW, lookup=lookup,
                                    seen=ro._seen_filter(sp.seen.get(u, set())))
                kept += out.generated - out.dropped_seen
            spent = (time.process_time() - start) / len(users) * 1000
            cand.CANDIDATE_BUDGET = saved
            if round_:
                times[(name, budget)].append(spent)
            sizes[(name, budget)] = kept / len(users)
    base = np.array(times[variants[0]])
    for v in variants:
        got = np.array(times[v])
        print(f"{v[0]:>6} budget {v[1]:>5}: median {np.median(got):.2f} ms a user "
              f"({np.median(got) / np.median(base) - 1:+.1%}; per-round ratio median "
              f"{np.median(got / base):.3f}) over {args.passes} passes "
              f"[{', '.join(f'{x:.2f}' for x in got)}]; {sizes[v]:.0f} eligible candidates")
    print("load", " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
