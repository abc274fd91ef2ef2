"""Offline protocol for For You (issue 21): leave-last-N-out per user, every method on the
same filtered catalogue, paired bootstrap intervals.

    flock /tmp/bench.lock .venv/bin/python bench/reco_offline.py                # synthetic
    flock /tmp/bench.lock .venv/bin/python bench/reco_offline.py --users 300 --quick
    flock /tmp/bench.lock .venv/bin/python bench/reco_offline.py --split tune   # for tuning
    ... --split tune --tune-quotas | --tune-rerank | --misses '{"collab": 300}'  # tuning aids
    ... --split tune --score-cpu --cpu-budgets 900,1000 --users 300   # serving.score CPU
    ... --budget 1100                   # any of the above at another candidate budget
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/bench_reco \\
        .venv/bin/python bench/reco_offline.py --train-db   # the daily ranker task on the
                                                            # seeded bench database

The protocol (docs/benchmarks.md, "For You offline protocol", fixed before any tuning):

- Data: a synthetic world from bench/reco_simulate.py (users with hidden topic tastes and
  favourite creators, real MiniLM caption embeddings, the simulator's reaction model). A
  logging policy shows each user posts (a third by popularity, a third from topics they
  like, a third uniformly) over 7 days; their reactions are the event log.
- Split: per user, the last N positives (completed or liked) are held out; that user's
  events from the first held-out positive on are removed; every other event trains.
  Users with at least N + 3 positives are test users; they are split once, by user id,
  into *tune* (id % 4 == 0) and *eval* (the rest). Tuning reads only `--split tune`.
- Catalogue: every post, minus what the user saw in training (the same for every method).
- Methods: For You (the real `apps.feed` code: pools.draw, candidates.generate, the seen
  filter, training.train's LightGBM heads and serving.score's pre-rank and ranker, then
  rerank.adjust), its stages alone (candidates with the heuristic; the ranker over the
  whole catalogue without candidate generation; For You without re-ranking), popularity,
  implicit ALS and implicit item-kNN (cosine) from the `implicit` package.
- Metrics per test user, averaged: NDCG@10, recall@10, recall@50, hit rate@10; coverage
  (distinct posts in the top 10s over the catalogue); For You minus each method with a
  paired bootstrap 95 % interval (users resampled, 1000 draws). Candidate recall: the share
  of held-out positives among For You's candidates (before the pre-rank), and that share
  over the positives any method reaches in its top 800.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))  # its sibling scripts (reco_simulate)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402

from apps.feed import artifacts, candidates, ranking, rerank, serving, training  # noqa: E402
from apps.feed import pools as pools_mod  # noqa: E402
from apps.feed.candidates import (  # noqa: E402
    SOURCES,
    CandidateSet,
    coengaged_scores,
    session_vector,
    take,
)
from apps.feed.pools import Catalogue  # noqa: E402
from apps.feed.serving import scoring  # noqa: E402
from apps.feed.serving.sources import _cf_for, _cf_user  # noqa: E402

DAY = 86400.0
NOW = 1_800_000_000.0
TOP = 50
REACH = 800


@dataclass
class Split:
    train: training.Events
    held: dict[int, set[int]]  # test user -> held-out positive post ids
    seen: dict[int, set[int]]  # user -> posts in their training events
    tune: list[int]
    eval: list[int]


def make_log(world: Any, rng: np.random.Generator, *, per_user: int) -> training.Events:
    """The logging policy's impressions and the simulated reactions to them."""
    from reco_simulate import UserState, react

    n = len(world.cat)
    k = world.taste.shape[1]
    popular = world.quality / world.quality.sum()
    by_topic = [np.flatnonzero(world.topic == t) for t in range(k)]
    cols: dict[str, list[Any]] = {c: [] for c in ("u", "p", "ts", "w", "c", "l", "f")}
    for u in range(world.taste.shape[0]):
        st = UserState()
        times = np.sort(rng.uniform(NOW - 7 * DAY, NOW, per_user))
        liked_topics = np.argsort(-world.taste[u])[:3]
        shown: set[int] = set()
        for ts in times.tolist():
            kind = rng.random()
            if kind < 1 / 3:
                row = int(rng.choice(n, p=popular))
            elif kind < 2 / 3:
                rows = by_topic[int(rng.choice(liked_topics))]
                row = int(rng.choice(rows))
            else:
                row = int(rng.integers(0, n))
            if row in shown:
                continue
            shown.add(row)
            frac, done, liked, fol = react(world, u, row, st, rng)
            st.recent_topics.append(int(world.topic[row]))
            st.recent_creators.append(int(world.creator_rows[row]))
            for c, v in zip(("u", "p", "ts", "w", "c", "l", "f"),
                            (u, int(world.cat.ids[row]), ts, frac, done, liked, fol),
                            strict=True):
                cols[c].append(v)
    return training.Events(np.array(cols["u"], np.int64), np.array(cols["p"], np.int64),
                           np.array(cols["ts"], np.float64), np.array(cols["w"], np.float32),
                           np.array(cols["c"], bool), np.array(cols["l"], bool),
                           np.array(cols["f"], bool))


def split(ev: training.Events, *, n_out: int) -> Split:
    keep = np.ones(len(ev), dtype=bool)
    held: dict[int, set[int]] = {}
    good = ev.completed | ev.liked
    for u in np.unique(ev.user).tolist():
        rows = np.flatnonzero(ev.user == u)
        rows = rows[np.argsort(ev.ts[rows], kind="stable")]
        pos = rows[good[rows]]
        if len(pos) < n_out + 3:
            continue
        out = pos[-n_out:]
        held[u] = set(ev.post[out].tolist())
        keep[rows[ev.ts[rows] >= ev.ts[out[0]]]] = False
    train = ev.select(keep)
    seen: dict[int, set[int]] = {}
    for u, p in zip(train.user.tolist(), train.post.tolist(), strict=True):
        seen.setdefault(u, set()).add(p)
    users = sorted(held)
    return Split(train=train, held=held, seen=seen, tune=[u for u in users if u % 4 == 0],
                 eval=[u for u in users if u % 4 != 0])


def user_items(ev: training.Events, n_users: int, n_posts: int) -> csr_matrix:
    conf = (np.minimum(ev.watch, 1.0) + 2.0 * ev.completed + 2.0 * ev.liked + 0.1)
    return csr_matrix((conf.astype(np.float32), (ev.user, ev.post - 1)),
                      shape=(n_users, n_posts))


def implicit_lists(kind: str, ui: csr_matrix, users: list[int], k: int) -> dict[int, list[int]]:
    from implicit.als import AlternatingLeastSquares  # type: ignore[import-untyped]
    from implicit.nearest_neighbours import CosineRecommender  # type: ignore[import-untyped]

    model: Any = (AlternatingLeastSquares(factors=64, regularization=0.05, iterations=15,
                                          random_state=7)
                  if kind == "als" else CosineRecommender(K=100))
    model.fit(ui, show_progress=False)
    ids = np.array(users)
    rec, _ = model.recommend(ids, ui[ids].tocsr(), N=k, filter_already_liked_items=True)
    return {u: [int(i) + 1 for i in rec[j] if i >= 0] for j, u in enumerate(users)}


def popularity_lists(ev: training.Events, sp: Split, users: list[int], n_posts: int,
                     k: int) -> dict[int, list[int]]:
    score = np.bincount(ev.post[ev.completed | ev.liked] - 1, minlength=n_posts)
    order = (np.argsort(-score, kind="stable") + 1).tolist()
    out = {}
    for u in users:
        seen = sp.seen.get(u, set())
        out[u] = [p for p in order[: k + len(seen)] if p not in seen][:k]
    return out


def for_you_lists(world: Any, sp: Split, users: list[int], *, jobs: int
                  ) -> tuple[dict[str, dict[int, list[int]]], dict[int, set[int]], str]:
    """The For You stack and its stages, per user: ranked post ids."""
    cat: Catalogue = world.cat
    ev = sp.train
    result = training.train(ev, cat, follows={}, languages=dict(enumerate(world.language)),
                            n_jobs=jobs)
    model = artifacts.to_loaded(result, version=1)
    listwise = lambdarank_model(ev, cat, model, languages=dict(enumerate(world.language)),
                                jobs=jobs)
    hist = training.history_of(ev, cut=NOW + 1, with_cf=False)
    counted = training.with_history_counters(cat, hist)
    counted.vectors = cat.vectors
    p = pools_mod.draw(counted, now=NOW)
    assert cat.vectors is not None
    p.catalogue.vectors = cat.vectors[p.catalogue.ids - 1]
    lists: dict[str, dict[int, list[int]]] = {
        "for-you": {}, "for-you-no-rerank": {}, "for-you-lambdarank": {},
        "candidates+heuristic": {}, "ranker-alone": {}, "for-you-page": {}}
    page_rng = np.random.default_rng(21)
    candidates: dict[int, set[int]] = {}
    all_rows = np.arange(len(cat))
    per_source: dict[str, list[int]] = {}
    sources_only = ranking.LoadedModel(
        version=0, heads={"broken": None}, feature_names=list(ranking.FEATURES),
        cf_items=model.cf_items, cf_users=model.cf_users, factors=model.factors,
        coengaged=model.coengaged)

    def lookup(ids: list[int]) -> Catalogue:
        return take(counted, np.array(ids, dtype=np.int64) - 1)

    for u in users:
        seen = sp.seen.get(u, set())
        ctx = training.context_for(u, hist, counted, follows=set(),
                                   language=world.language[u])
        ctx.cf_user = None  # serving.score sets it from the model

        seen_fn = _seen_filter(seen)
        similar, sims = _profile_neighbours(cat, counted, ctx)
        # The candidates with the model's sources (collab, co-engaged, session), every
        # eligible one (learned=False returns before the pre-rank: until 2026-12-06 22:30
        # this stage went through the pre-rank, so the candidate recall it reported was
        # the recall of the pre-rank's 300 plus the exploration rows), ranked by the
        # heuristic.
        heur = serving.score(p, ctx, model=sources_only, similar=similar, sims=sims,
                             now=NOW, seen=seen_fn, lookup=lookup, degraded=[],
                             learned=False)
        ids = heur.cs.cat.ids
        candidates[u] = set(ids.tolist())
        held = sp.held[u]
        for j, name in enumerate(SOURCES):
            mine = ids[heur.cs.src[:, j] == 1].tolist()
            per_source.setdefault(name, [0, 0])
            per_source[name][0] += len(held & set(mine))
            per_source[name][1] += len(mine)
        lists["candidates+heuristic"][u] = ids[np.argsort(-heur.base)[:TOP]].tolist()
        ctx.cf_user = None
        full = serving.score(p, ctx, model=model, similar=similar, sims=sims, now=NOW,
                             seen=seen_fn, lookup=lookup)
        fid = full.cs.cat.ids
        lists["for-you-no-rerank"][u] = fid[np.argsort(-full.base)[:TOP]].tolist()
        ctx.cf_user = None
        lr = serving.score(p, ctx, model=listwise, similar=similar, sims=sims, now=NOW,
                           seen=seen_fn, lookup=lookup)
        lr_adj = rerank.adjust(lr.cs, lr.base, ctx, seen=set(), now=NOW)
        lr_live = np.flatnonzero(lr_adj.keep)
        lists["for-you-lambdarank"][u] = lr.cs.cat.ids[
            lr_live[np.argsort(-lr_adj.scores[lr_live])][:TOP]].tolist()
        adj = rerank.adjust(full.cs, full.base, ctx, seen=set(), now=NOW)
        live = np.flatnonzero(adj.keep)
        lists["for-you"][u] = fid[live[np.argsort(-adj.scores[live])][:TOP]].tolist()
        # The first page as served (10 posts: the diversity rules and exploration slots).
        lists["for-you-page"][u] = _page(full, ctx, page_rng)
        # The learned ranker alone over the whole unseen catalogue (no candidate sources).
        unseen = all_rows[~np.isin(cat.ids, np.fromiter(seen, np.int64, count=len(seen)))]
        co_all = coengaged_scores(model.coengaged, ctx.positives, take_n=len(cat))
        whole = CandidateSet(cat=take(counted, unseen, vectors=False),
                             src=np.zeros((len(unseen), len(SOURCES)), np.uint8),
                             text_sim=(cat.vectors[unseen] @ ctx.profile).astype(np.float32)
                             if ctx.profile is not None else np.zeros(len(unseen), np.float32),
                             cf=np.zeros(len(unseen), np.float32),
                             session_sim=np.zeros(len(unseen), np.float32),
                             co=np.array([co_all.get(int(i), 0.0) for i in cat.ids[unseen]],
                                         dtype=np.float32))
        _cf_for(whole, model, ctx, session=session_vector(model.cf_items, ctx.positives))
        x = ranking.feature_matrix(whole, ctx, now=NOW)
        sc, _ = model.score(x)
        lists["ranker-alone"][u] = whole.cat.ids[np.argsort(-sc)[:TOP]].tolist()
    held_total = sum(len(sp.held[u]) for u in users)
    print(f"\n{'source':<12} {'recall':>7} {'posts/user':>10} {'hits/1k proposed':>17}")
    for name, (hits, size) in per_source.items():
        print(f"{name:<12} {hits / held_total:>7.3f} {size / len(users):>10.0f} "
              f"{1000 * hits / max(size, 1):>17.2f}")
    return lists, candidates, f"{len(ev)} training events; ranker {result.metrics.get('ranker')}"


STEPS = {"interest": 10}  # per hashtag; the others per source (sound_tag: over its keys)


def _rrf(*scores: np.ndarray) -> np.ndarray:
    """Reciprocal-rank fusion of several scores over the same rows (higher is better)."""
    out = np.zeros(len(scores[0]), dtype=np.float64)
    for s in scores:
        rank = np.empty(len(s), dtype=np.int64)
        rank[np.argsort(-s, kind="stable")] = np.arange(len(s))
        out += 1.0 / (60.0 + rank)
    return out


def _fixed_world(world: Any, sp: Split, *, jobs: int) -> tuple[Any, Any, Catalogue, Any]:
    """The model trained on the split's training events, their history, the catalogue with
    its counters, and the pools drawn at NOW: the fixed world `tune_quotas` and `score_cpu`
    score in."""
    cat: Catalogue = world.cat
    ev = sp.train
    result = training.train(ev, cat, follows={}, languages=dict(enumerate(world.language)),
                            n_jobs=jobs)
    model = artifacts.to_loaded(result, version=1)
    hist = training.history_of(ev, cut=NOW + 1, with_cf=False)
    counted = training.with_history_counters(cat, hist)
    counted.vectors = cat.vectors
    p = pools_mod.draw(counted, now=NOW)
    assert cat.vectors is not None
    p.catalogue.vectors = cat.vectors[p.catalogue.ids - 1]
    return model, hist, counted, p


def tune_quotas(world: Any, sp: Split, users: list[int], reach: dict[str, dict[int, list[int]]],
                *, jobs: int, budgets: tuple[int, ...]) -> dict[int, dict[str, int]]:
    """Per-source quotas by marginal recall on these (tune) users: each source's proposals
    at every depth (candidates.propose with large quotas, the seen filter applied), then a
    greedy allocation that grows, step by step, the source whose next step adds the most
    held-out positives per new eligible candidate, until the candidates per user reach
    each budget. Also: which pre-rank keeps the most held-out positives in its top 300."""
    cat: Catalogue = world.cat
    model, hist, counted, p = _fixed_world(world, sp, jobs=jobs)
    cf_items = model.cf_matrix(p.catalogue.ids)
    big = dict.fromkeys(candidates.QUOTAS, 10**6)
    names = [s for s in candidates.QUOTAS if s != "followed"]
    # user -> source -> list of ordered post-id arrays (one per key), eligible and unseen
    lists: dict[int, dict[str, list[list[int]]]] = {}
    shares: dict[int, list[float]] = {}  # user -> each sound_tag key's share of the quota
    blocks: dict[int, set[int]] = {}  # user -> seen in training, or their own positives
    for u in users:
        ctx = training.context_for(u, hist, counted, follows=set(), language=world.language[u])
        ctx.cf_user = _cf_user(model, ctx)
        session = session_vector(model.cf_items, ctx.positives)
        co = coengaged_scores(model.coengaged, ctx.positives, take_n=2000)
        props = candidates.propose(p, ctx, cf_items=cf_items, coengaged=co, session=session,
                                   quotas=big)
        blocked = sp.seen.get(u, set()) | set(ctx.positives)
        mine: dict[str, list[list[int]]] = {s: [] for s in names}
        for rows, source in zip(props.rows, props.sources, strict=True):
            ids = p.catalogue.ids[rows].tolist()
            if source == "coengaged":
                ids = list(co)  # with the posts outside the pools (serving describes them)
            mine[source].append(ids)  # quotas count before the seen filter, as serving
        if ctx.profile is not None:  # the pgvector neighbours beyond the pools (fixed 100)
            s = cat.vectors @ ctx.profile
            mine.setdefault("similar", []).append(
                [int(cat.ids[r]) for r in np.argsort(-s)[:100]])
        lists[u] = mine
        blocks[u] = blocked
        keyed = [c for t, c in ctx.positive_tags.most_common(8) if t in p.by_hashtag]
        keyed += [c for t, c in ctx.positive_sounds.most_common(4) if t in p.by_sound]
        shares[u] = [c / sum(keyed) for c in keyed]
    held_total = sum(len(sp.held[u]) for u in users)
    reachable = 0
    for u in users:
        any_reach = {x for rec in reach.values() for x in rec[u]}
        for src in lists[u].values():
            for ids in src:
                any_reach.update(x for x in ids[:800] if x not in blocks[u])
        reachable += len(sp.held[u] & any_reach)

    def depth(u: int, source: str, k: int, quota: int) -> int:
        """How deep the source's k-th list goes at this quota (as candidates.propose)."""
        if source != "sound_tag" or quota == 0:
            return quota
        return max(candidates.SOUND_TAG_MIN, round(quota * shares[u][k]))

    def gain(u: int, source: str, lo: int, hi: int, covered: set[int]) -> tuple[int, set[int]]:
        new: set[int] = set()
        for k, ids in enumerate(lists[u][source]):
            a, b = depth(u, source, k, lo), depth(u, source, k, hi)
            new.update(x for x in ids[a:b] if x not in covered and x not in blocks[u])
        return len(new & sp.held[u]), new

    quotas = dict.fromkeys(names, 0)
    covered: dict[int, set[int]] = {u: set() for u in users}
    chosen: dict[int, dict[str, int]] = {}
    left = sorted(budgets)
    print(f"\nquota tuning on {len(users)} users ({held_total} held-out positives, "
          f"{reachable} reachable by any method or source at depth 800)")
    while left:
        best, best_rate, best_step = "", -1.0, 0
        for s in names:
            step = STEPS.get(s, 25)
            hits = cost = 0
            # A step that adds nothing (sound_tag's shares below their minimum per key,
            # or rows all covered already) widens until it adds something.
            while cost == 0 and step <= 2000:
                hits = cost = 0
                for u in users:
                    h, new = gain(u, s, quotas[s], quotas[s] + step, covered[u])
                    hits += h
                    cost += len(new)
                if cost == 0:
                    step *= 2
            if cost == 0:
                continue
            rate = hits / cost
            if rate > best_rate:
                best, best_rate, best_step = s, rate, step
        if not best:
            break
        for u in users:
            covered[u] |= gain(u, best, quotas[best], quotas[best] + best_step, covered[u])[1]
        quotas[best] += best_step
        per_user = sum(len(c) for c in covered.values()) / len(users)
        got = sum(len(covered[u] & sp.held[u]) for u in users)
        while left and per_user >= left[0]:
            chosen[left.pop(0)] = dict(quotas)
            print(f"budget {per_user:.0f}/user: recall {got / held_total:.3f}, of reachable "
                  f"{got / max(reachable, 1):.3f}; quotas {quotas}", flush=True)
    # Pre-rank: which order of the candidates at the current quotas keeps the most
    # held-out positives among its top PRE_RANK (computed on the tune users too).
    keep = dict.fromkeys(("heuristic", "cf", "rrf(cf,session,co,text)",
                          "rrf(heuristic,cf,session,co)", "ranker (all)"), 0)
    for u in users:
        ctx = training.context_for(u, hist, counted, follows=set(), language=world.language[u])
        ctx.cf_user = None
        seen = sp.seen.get(u, set())

        def seen_fn(ids: list[int], seen: set[int] = seen) -> set[int]:
            return {i for i in ids if i in seen}

        def lookup(ids: list[int]) -> Catalogue:
            return take(counted, np.array(ids, dtype=np.int64) - 1)

        full = serving.score(p, ctx, model=model, now=NOW, seen=seen_fn, lookup=lookup,
                             learned=False)
        cs, x = full.cs, full.x
        if len(cs) == 0:
            continue
        held = np.isin(cs.cat.ids, np.fromiter(sp.held[u], np.int64))
        session_sim = cs.session_sim if cs.session_sim is not None else np.zeros(len(cs))
        co_sim = cs.co if cs.co is not None else np.zeros(len(cs))
        heur = ranking.heuristic_scores(x)
        orders = {
            "heuristic": heur, "cf": cs.cf,
            "rrf(cf,session,co,text)": _rrf(cs.cf, session_sim, co_sim, cs.text_sim),
            "rrf(heuristic,cf,session,co)": _rrf(heur, cs.cf, session_sim, co_sim),
            "ranker (all)": model.score(x)[0],
        }
        for name, s in orders.items():
            top = np.argsort(-s, kind="stable")[:scoring.PRE_RANK]
            keep[name] += int(held[top].sum())
    print(f"\npre-rank to {scoring.PRE_RANK}: held-out positives kept (of {held_total})")
    for name, k in keep.items():
        print(f"  {name:<30} {k:>5} ({k / held_total:.3f})")
    return chosen

def score_cpu(world: Any, sp: Split, users: list[int], *, jobs: int, repeats: int = 3,
              budgets: tuple[int, ...] = ()) -> None:
    """CPU time of serving.score (the full model: candidates, the seen filter, the
    pre-rank, the ranker) per user on this fixed world, median of `repeats` passes; the
    same users, model and pools for any code version or quotas. `budgets`: passes at
    each candidate budget in turn (interleaved, the same process and world)."""
    model, hist, counted, p = _fixed_world(world, sp, jobs=jobs)

    def lookup(ids: list[int]) -> Catalogue:
        return take(counted, np.array(ids, dtype=np.int64) - 1)

    ctxs = [training.context_for(u, hist, counted, follows=set(), language=world.language[u])
            for u in users]
    saved = candidates.CANDIDATE_BUDGET
    settings = budgets or (saved,)
    passes: dict[int, list[float]] = {b: [] for b in settings}
    sizes: dict[int, list[int]] = {b: [] for b in settings}
    try:
        for _ in range(repeats):
            for budget in settings:
                candidates.CANDIDATE_BUDGET = budget
                start = time.process_time()
                for u, ctx in zip(users, ctxs, strict=True):
                    ctx.cf_user = None
                    seen = sp.seen.get(u, set())

                    def seen_fn(ids: list[int], seen: set[int] = seen) -> set[int]:
                        return {i for i in ids if i in seen}

                    out = serving.score(p, ctx, model=model, now=NOW, lookup=lookup,
                                        seen=seen_fn)
                    sizes[budget].append(out.generated - out.dropped_seen)
                passes[budget].append((time.process_time() - start) / len(users) * 1000)
    finally:
        candidates.CANDIDATE_BUDGET = saved
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for budget in settings:
        got = passes[budget]
        print(f"\nserving.score CPU per user, budget {budget}: median {np.median(got):.2f} ms "
              f"over {repeats} passes of {len(users)} users "
              f"({', '.join(f'{x:.2f}' for x in got)}); {np.mean(sizes[budget]):.0f} "
              f"eligible candidates per user; quotas {candidates.QUOTAS}; load {load}")


def _seen_filter(seen: set[int]) -> Any:
    """serving.score's `seen`: which of these ids the user has seen."""
    def seen_fn(ids: list[int]) -> set[int]:
        return {i for i in ids if i in seen}
    return seen_fn


def _profile_neighbours(cat: Catalogue, counted: Catalogue, ctx: Any
                        ) -> tuple[Catalogue | None, dict[int, float]]:
    """The 100 posts nearest the user's profile vector (the pgvector query's stand-in) and
    their similarities; none without a profile."""
    if ctx.profile is None:
        return None, {}
    s = cat.vectors @ ctx.profile
    top = np.argsort(-s)[:100]
    return take(counted, top), {int(cat.ids[r]): float(s[r]) for r in top}


def _scored_users(world: Any, sp: Split, users: list[int], model: Any, hist: Any,
                  counted: Catalogue, p: Any, *, learned: bool = True
                  ) -> list[tuple[int, Any, Any]]:
    """serving.score for each user as the protocol's for-you stage does (the pgvector
    neighbours included): (user, context, Scored)."""
    cat: Catalogue = world.cat

    def lookup(ids: list[int]) -> Catalogue:
        return take(counted, np.array(ids, dtype=np.int64) - 1)

    out = []
    for u in users:
        seen = sp.seen.get(u, set())
        ctx = training.context_for(u, hist, counted, follows=set(), language=world.language[u])
        ctx.cf_user = None

        seen_fn = _seen_filter(seen)
        similar, sims = _profile_neighbours(cat, counted, ctx)
        out.append((u, ctx, serving.score(p, ctx, model=model, similar=similar, sims=sims,
                                          now=NOW, seen=seen_fn, lookup=lookup,
                                          learned=learned)))
    return out


def _adjusted_list(full: Any, ctx: Any) -> list[int]:
    adj = rerank.adjust(full.cs, full.base, ctx, seen=set(), now=NOW)
    live = np.flatnonzero(adj.keep)
    ids: list[int] = full.cs.cat.ids[live[np.argsort(-adj.scores[live])][:TOP]].tolist()
    return ids


def _page(full: Any, ctx: Any, rng: np.random.Generator, limit: int = 10) -> list[int]:
    """The page rerank arranges (shortlist, then the greedy fill: creator window, sound and
    hashtag caps, exploration slots), as serving does for a first page."""
    adj = rerank.adjust(full.cs, full.base, ctx, seen=set(), now=NOW)
    rows, draws = rerank.shortlist(full.cs, adj, limit=limit, rng=rng)
    page = rerank.arrange(full.cs, adj, rows, limit=limit, draws=draws)
    return [int(full.cs.cat.ids[r]) for r, _ in page]


FRESH_GRID = ((0.25, 24.0), (0.1, 24.0), (0.05, 24.0), (0.02, 24.0), (0.1, 6.0),
              (0.05, 6.0), (0.25, 6.0), (0.0, 24.0))


def tune_rerank(world: Any, sp: Split, users: list[int], *, jobs: int,
                grid: tuple[tuple[float, float], ...] = FRESH_GRID,
                page_settings: tuple[tuple[float, float], ...] = ((0.0, 24.0),)
                ) -> dict[str, float]:
    """The re-ranking's strength on these (tune) users: the freshness boost and half-life
    over a grid (the protocol's for-you list: ranked by rerank.adjust's score), each
    against the ranker's own order with a paired bootstrap interval, with the share of
    posts under a day old in the top 10; then the arranged first page (the diversity rules
    and the exploration slots) at the current and the weakest setting."""
    model, hist, counted, p = _fixed_world(world, sp, jobs=jobs)
    scored = _scored_users(world, sp, users, model, hist, counted, p)
    boot = np.random.default_rng(13)
    published = dict(zip(world.cat.ids.tolist(), world.cat.published.tolist(), strict=True))

    def fresh_share(lists: dict[int, list[int]]) -> float:
        top = [pid for u in users for pid in lists[u][:10]]
        return float(np.mean([NOW - published[pid] < DAY for pid in top])) if top else 0.0

    def evaluate(name: str, lists: dict[int, list[int]], ref: np.ndarray | None) -> np.ndarray:
        per = np.array([user_metrics(lists[u], sp.held[u]) for u in users])
        ci = ""
        if ref is not None:
            diff = per[:, 0] - ref
            lo, hi = bootstrap(diff, boot)
            ci = f"{diff.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]"
        print(f"{name:<34} {per[:, 0].mean():>8.4f} {per[:, 2].mean():>7.4f} "
              f"{fresh_share(lists):>8.3f}   {ci}", flush=True)
        return per[:, 0]

    print(f"\nre-ranking on {len(users)} tune users\n{'setting':<34} {'NDCG@10':>8} "
          f"{'rec@50':>7} {'fresh@10':>8}   minus the ranker's order [95% CI]")
    plain = {u: full.cs.cat.ids[np.argsort(-full.base)[:TOP]].tolist()
             for u, _, full in scored}
    ref = evaluate("ranker's order (no re-ranking)", plain, None)
    saved = rerank.FRESH_BOOST, rerank.FRESH_HALF_LIFE_H
    out: dict[str, float] = {}
    try:
        for boost, half in grid:
            rerank.FRESH_BOOST, rerank.FRESH_HALF_LIFE_H = boost, half
            lists = {u: _adjusted_list(full, ctx) for u, ctx, full in scored}
            out[f"{boost}/{half}"] = float(
                evaluate(f"adjust: fresh +{boost:g}, half-life {half:g} h", lists, ref).mean())
        # The arranged first page (the diversity rules always hold there), with and without
        # the exploration slots, and with a shortlist of 3 or 6 pages' worth (the rules
        # fill the page from deeper ranked rows rather than the exploration pool).
        saved_size = rerank.SHORTLIST_PAGES
        for boost, half in (saved, *page_settings):
            rerank.FRESH_BOOST, rerank.FRESH_HALF_LIFE_H = boost, half
            for slots, pages_deep in ((rerank.EXPLORE_POSITIONS, saved_size),
                                      (frozenset(), saved_size),
                                      (rerank.EXPLORE_POSITIONS, 6)):
                saved_slots = rerank.EXPLORE_POSITIONS
                rerank.EXPLORE_POSITIONS, rerank.SHORTLIST_PAGES = slots, pages_deep
                rng = np.random.default_rng(21)
                try:
                    pages = {u: _page(full, ctx, rng) for u, ctx, full in scored}
                finally:
                    rerank.EXPLORE_POSITIONS, rerank.SHORTLIST_PAGES = saved_slots, saved_size
                evaluate(f"page: +{boost:g}/{half:g} h, "
                         f"{'explore' if slots else 'no explore'}, {pages_deep} pages", pages, ref)
    finally:
        rerank.FRESH_BOOST, rerank.FRESH_HALF_LIFE_H = saved
    return out


def recall_misses(world: Any, sp: Split, users: list[int],
                  reach: dict[str, dict[int, list[int]]], *, jobs: int,
                  variants: list[dict[str, int]]) -> None:
    """Which reachable held-out positives the candidates miss (these tune users), who
    reaches them, and where they stand in each source's full order; then the candidate
    recall of quota variants (the same budget) in the same world."""
    model, hist, counted, p = _fixed_world(world, sp, jobs=jobs)
    cat: Catalogue = world.cat
    saved = dict(candidates.QUOTAS)
    cf_all = model.cf_matrix(cat.ids)
    saved_budget = candidates.CANDIDATE_BUDGET
    for variant in [{}, *variants]:
        # "budget" sets candidates.CANDIDATE_BUDGET; the other keys are source quotas.
        candidates.QUOTAS.update({k: v for k, v in variant.items() if k != "budget"})
        candidates.CANDIDATE_BUDGET = variant.get("budget", saved_budget)
        try:
            scored = _scored_users(world, sp, users, model, hist, counted, p, learned=False)
        finally:
            candidates.QUOTAS.clear()
            candidates.QUOTAS.update(saved)
            candidates.CANDIDATE_BUDGET = saved_budget
        got = reachable = total = 0
        sizes = []
        who: dict[str, int] = {}
        ranks: dict[str, list[int]] = {"collab": [], "session": [], "similar": [],
                                       "coengaged": []}
        for u, ctx, full in scored:
            held = sp.held[u]
            mine = set(full.cs.cat.ids.tolist())
            sizes.append(len(mine))
            any_reach = mine | {x for rec in reach.values() for x in rec[u]}
            total += len(held)
            got += len(held & mine)
            reachable += len(held & any_reach)
            if variant:
                continue
            missed = (held & any_reach) - mine
            if not missed:
                continue
            blocked = np.fromiter(sp.seen.get(u, set()) | set(ctx.positives), np.int64)
            open_rows = ~np.isin(cat.ids, blocked)

            def rank_of(score: np.ndarray, pid: int, open_rows: np.ndarray = open_rows
                        ) -> int:
                s = np.where(open_rows, score, -np.inf)
                return int((s > s[pid - 1]).sum())

            session = session_vector(model.cf_items, ctx.positives)
            co = coengaged_scores(model.coengaged, ctx.positives, take_n=len(cat))
            co_arr = np.zeros(len(cat))
            for pid, v in co.items():
                co_arr[pid - 1] = v
            for pid in missed:
                by = "+".join(n for n in ("als", "item-knn", "popularity")
                              if pid in reach[n][u][:REACH]) or "none"
                who[by] = who.get(by, 0) + 1
                if ctx.cf_user is not None:
                    ranks["collab"].append(rank_of(cf_all @ ctx.cf_user, pid))
                if session is not None:
                    ranks["session"].append(rank_of(cf_all @ session, pid))
                if ctx.profile is not None:
                    ranks["similar"].append(rank_of(cat.vectors @ ctx.profile, pid))
                ranks["coengaged"].append(rank_of(co_arr, pid) if co_arr[pid - 1] > 0
                                          else len(cat))
        print(f"\nquotas {variant or 'as set'}: {np.mean(sizes):.0f} candidates/user, recall "
              f"{got / total:.3f}, of reachable {got / max(reachable, 1):.3f}", flush=True)
        if not variant:
            print(f"missed reachable positives by who reaches them: {who}")
            for name, r in ranks.items():
                arr = np.array(r)
                if len(arr):
                    print(f"  their rank in {name:<10} (unseen catalogue): median "
                          f"{np.median(arr):.0f}; within 300 {np.mean(arr < 300):.2f}, 600 "
                          f"{np.mean(arr < 600):.2f}, 1000 {np.mean(arr < 1000):.2f}")


class _Listwise:
    """A LightGBM lambdarank model in the place of the completion head (its scores are
    an order, not probabilities: the other heads are left out)."""

    def __init__(self, ranker: Any) -> None:
        self.ranker = ranker

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        s = 1.0 / (1.0 + np.exp(-self.ranker.predict(x)))
        return np.stack([1 - s, s], axis=1)


def lambdarank_model(ev: training.Events, cat: Catalogue, model: ranking.LoadedModel, *,
                     languages: dict[int, str], jobs: int) -> ranking.LoadedModel:
    """The listwise objective on the same rows and features as the pointwise heads
    (training.train's split at the 50th/80th percentile of time): relevance = completed
    + liked, one query group per user."""
    import lightgbm as lgb

    t1, t2 = (float(np.quantile(ev.ts, q)) for q in (0.5, 0.8))
    hist = training.history_of(ev, cut=t1)
    rows = ev.select((ev.ts >= t1) & (ev.ts < t2))
    ds = training.build_dataset(rows, cat, hist, now=t2, follows={}, languages=languages)
    order = np.argsort(ds.user, kind="stable")
    label = (ds.labels["completion"] + ds.labels["like"])[order]
    _, groups = np.unique(ds.user[order], return_counts=True)
    ranker = lgb.LGBMRanker(objective="lambdarank", n_estimators=200, learning_rate=0.05,
                            num_leaves=31, min_child_samples=20, n_jobs=jobs, verbose=-1,
                            random_state=7)
    ranker.fit(ds.x[order], label, group=groups)
    return ranking.LoadedModel(version=2, heads={"completion": _Listwise(ranker)},
                               feature_names=model.feature_names, cf_items=model.cf_items,
                               cf_users=model.cf_users, factors=model.factors,
                               coengaged=model.coengaged)


def user_metrics(ranked: list[int], held: set[int]) -> tuple[float, float, float, float]:
    gains = [1.0 if p in held else 0.0 for p in ranked[:10]]
    dcg = sum(g / np.log2(i + 2) for i, g in enumerate(gains))
    idcg = sum(1.0 / np.log2(i + 2) for i in range(min(len(held), 10)))
    hits50 = sum(1 for p in ranked[:TOP] if p in held)
    return dcg / idcg, sum(gains) / len(held), hits50 / len(held), float(any(gains))


def bootstrap(diff: np.ndarray, rng: np.random.Generator, draws: int = 1000
              ) -> tuple[float, float]:
    idx = rng.integers(0, len(diff), size=(draws, len(diff)))
    means = diff[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from reco_simulate import make_world

    if (args.tune_quotas or getattr(args, "tune_rerank", False)
            or getattr(args, "misses", "")) and args.split != "tune":
        raise SystemExit("--tune-quotas, --tune-rerank and --misses read the tune users only "
                         "(--split tune)")
    started = time.time()
    rng = np.random.default_rng(args.seed)
    world = make_world(rng, users=args.users, creators=args.creators, posts=args.posts, days=1)
    cat = world.cat
    cat.published = NOW - rng.uniform(0, 10 * DAY, len(cat))
    ev = make_log(world, rng, per_user=args.per_user)
    sp = split(ev, n_out=args.n_out)
    users = sp.tune if args.split == "tune" else sp.eval
    print(f"world: {args.users} users, {args.posts} posts, {len(ev)} events "
          f"({int((ev.completed | ev.liked).sum())} positives); test users: "
          f"{len(sp.held)} ({len(sp.tune)} tune, {len(sp.eval)} eval); scoring the "
          f"{args.split} users ({len(users)}), N = {args.n_out}", flush=True)
    n_posts = len(cat)
    if args.quotas:
        candidates.QUOTAS.update(json.loads(args.quotas))
    if getattr(args, "budget", 0):
        candidates.CANDIDATE_BUDGET = args.budget
    if getattr(args, "pre_rank", 0):
        scoring.PRE_RANK = args.pre_rank
    if getattr(args, "trees", 0):
        ranking.TREES = args.trees
    print(f"candidate budget {candidates.CANDIDATE_BUDGET}, pre-rank {scoring.PRE_RANK}, "
          f"trees {ranking.TREES or 'all'}", flush=True)
    if args.score_cpu:
        score_cpu(world, sp, users[:150], jobs=args.jobs,
                  budgets=tuple(int(b) for b in args.cpu_budgets.split(",") if b)
                  if getattr(args, "cpu_budgets", "") else ())
        return {}
    if getattr(args, "tune_rerank", False):
        grid = tuple(tuple(float(x) for x in g.split("/")) for g in args.fresh.split(",")
                     ) if getattr(args, "fresh", "") else FRESH_GRID
        return {"rerank": tune_rerank(world, sp, users, jobs=args.jobs,
                                      grid=grid,  # type: ignore[arg-type]
                                      page_settings=grid[-1:])}  # type: ignore[arg-type]
    ui = user_items(sp.train, args.users, n_posts)
    lists: dict[str, dict[int, list[int]]] = {}
    reach: dict[str, dict[int, list[int]]] = {}
    t0 = time.time()
    reach["popularity"] = popularity_lists(sp.train, sp, users, n_posts, REACH)
    for kind in ("als", "item-knn"):
        reach[kind] = implicit_lists("als" if kind == "als" else "knn", ui, users, REACH)
    for name, rec in reach.items():
        lists[name] = {u: r[:TOP] for u, r in rec.items()}
    print(f"baselines in {time.time() - t0:.1f}s", flush=True)
    if getattr(args, "misses", ""):
        recall_misses(world, sp, users, reach, jobs=args.jobs,
                      variants=[json.loads(v) for v in args.misses.split(";") if v != "{}"])
        return {}
    if args.tune_quotas:
        return {"quotas": tune_quotas(world, sp, users, reach, jobs=args.jobs,
                                      budgets=tuple(int(b) for b in args.budgets.split(",")))}
    t0 = time.time()
    fy, cands, note = for_you_lists(world, sp, users, jobs=args.jobs)
    lists.update(fy)
    print(f"for you and its stages in {time.time() - t0:.1f}s ({note})", flush=True)

    per: dict[str, np.ndarray] = {}
    coverage: dict[str, float] = {}
    for name, rec in lists.items():
        per[name] = np.array([user_metrics(rec[u], sp.held[u]) for u in users])
        coverage[name] = len({p for u in users for p in rec[u][:10]}) / n_posts
    boot = np.random.default_rng(args.seed + 1)
    report: dict[str, Any] = {"users": len(users), "methods": {}}
    print(f"\n{'method':<22} {'NDCG@10':>8} {'rec@10':>7} {'rec@50':>7} {'hit@10':>7} "
          f"{'cover':>6}   for-you - method NDCG@10 [95% CI]")
    for name in lists:
        m = per[name].mean(axis=0)
        diff = per["for-you"][:, 0] - per[name][:, 0]
        lo, hi = bootstrap(diff, boot) if name != "for-you" else (0.0, 0.0)
        report["methods"][name] = {"ndcg@10": m[0], "recall@10": m[1], "recall@50": m[2],
                                   "hit@10": m[3], "coverage": coverage[name],
                                   "diff_ndcg": float(diff.mean()), "ci": (lo, hi)}
        ci = "" if name == "for-you" else f"{diff.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]"
        print(f"{name:<22} {m[0]:>8.4f} {m[1]:>7.4f} {m[2]:>7.4f} {m[3]:>7.3f} "
              f"{coverage[name]:>6.3f}   {ci}")
    # Candidate recall: For You's candidates against what any method reaches in its top 800.
    got = reachable = total = 0
    sizes = []
    for u in users:
        held = sp.held[u]
        any_reach = set(cands[u]) | {p for rec in reach.values() for p in rec[u]}
        total += len(held)
        got += len(held & cands[u])
        reachable += len(held & any_reach)
        sizes.append(len(cands[u]))
    report["candidate_recall"] = got / total
    report["candidate_recall_of_reachable"] = got / max(reachable, 1)
    print(f"\ncandidates: {np.mean(sizes):.0f} per user (unseen, eligible); recall of held-out "
          f"positives {got / total:.3f}; of those any method reaches in its top {REACH} "
          f"{got / max(reachable, 1):.3f}")
    best = max((n for n in lists if n in ("popularity", "als", "item-knn")),
               key=lambda n: report["methods"][n]["ndcg@10"])
    ratio = report["methods"]["for-you"]["ndcg@10"] / max(report["methods"][best]["ndcg@10"],
                                                           1e-9)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"for-you / best baseline ({best}) NDCG@10: x{ratio:.2f}; total "
          f"{time.time() - started:.0f}s; load {' '.join(load)}")
    report["best_baseline"], report["ratio"] = best, ratio
    return report


def train_db(args: argparse.Namespace) -> int:
    """The daily reco task on the seeded bench database (the former content of this file)."""
    from django.db import connection

    from apps.feed import services

    print(f"database {connection.settings_dict['NAME']}")
    started = time.time()
    row = services.ranker_train(n_jobs=args.jobs, activate=not args.no_activate)
    print(f"ranker v{row.version} trained in {time.time() - started:.0f}s "
          f"({'active' if row.is_active else 'inactive'})")
    for policy in ("ranker", "popularity", "chronological"):
        print(f"{policy:<14} {row.metrics.get(policy, {})}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=900)
    parser.add_argument("--creators", type=int, default=250)
    parser.add_argument("--posts", type=int, default=4000)
    parser.add_argument("--per-user", type=int, default=120, help="impressions logged")
    parser.add_argument("--n-out", type=int, default=5, help="held-out positives per user")
    parser.add_argument("--split", choices=("eval", "tune"), default="eval")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--quotas", default="",
                        help='JSON overriding candidates.QUOTAS, e.g. {"collab": 300}')
    parser.add_argument("--budget", type=int, default=0,
                        help="candidates.CANDIDATE_BUDGET for this run (default: as set)")
    parser.add_argument("--pre-rank", type=int, default=0,
                        help="serving.scoring.PRE_RANK for this run (default: as set)")
    parser.add_argument("--trees", type=int, default=0,
                        help="ranking.TREES for this run: each head's first N trees")
    parser.add_argument("--score-cpu", action="store_true",
                        help="only the CPU time of serving.score per user on this world")
    parser.add_argument("--cpu-budgets", default="",
                        help="--score-cpu at these candidate budgets, interleaved (900,1100)")
    parser.add_argument("--budgets", default="300,400,470,600,700,800",
                        help="candidates per user at which --tune-quotas reports its quotas")
    parser.add_argument("--tune-quotas", action="store_true",
                        help="per-source quotas by marginal recall (with --split tune)")
    parser.add_argument("--tune-rerank", action="store_true",
                        help="re-ranking strength on the tune users (with --split tune)")
    parser.add_argument("--fresh", default="",
                        help="--tune-rerank's grid: boost/half-life pairs, e.g. 0.05/6,0/24 "
                             "(the arranged page is measured at the last)")
    parser.add_argument("--misses", default="",
                        help="missed reachable positives, then these quota variants "
                             "(';'-separated JSON; '{}' alone: only the misses)")
    parser.add_argument("--train-db", action="store_true",
                        help="train the ranker on the database instead (bench_reco)")
    parser.add_argument("--no-activate", action="store_true")
    args = parser.parse_args(argv)
    if args.train_db:
        return train_db(args)
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
