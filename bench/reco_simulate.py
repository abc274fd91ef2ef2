"""The feed simulator: synthetic users with hidden tastes, three policies, several days.

    .venv/bin/python bench/reco_simulate.py                 # defaults: 300 users, 4 days
    .venv/bin/python bench/reco_simulate.py --users 200 --days 3

Each policy runs on its own copy of the same world (same catalogue, same users, same random
seeds for the users' behaviour):

- chronological: newest posts first (minus what the user has seen);
- popularity: most played and liked posts so far, as observed by this policy's own logs;
- als: implicit ALS (the `implicit` package) fitted every simulated night on this
  policy's own log, top unseen posts by user x item factors (popularity for users it has
  not seen yet); in the default policies;
- for-you: the real For You stack of `apps.feed` — pools (`pools.draw`), candidates
  (`candidates.generate`: followed, trending, similar by MiniLM text embeddings, same
  hashtag/sound, language, exploration, collaborative), the learned ranker
  (`training.train` on this policy's own logged events every simulated night; the
  heuristic on day 0), and re-ranking (`rerank.adjust/shortlist/arrange`: seen-set,
  creator window, caps, freshness, Thompson exploration). Only I/O is replaced: the
  per-viewer reads come from the simulated world instead of PostgreSQL and Redis.

Users have hidden tastes: topic weights (concentrated on two or three of the 14 onboarding
topics), a few favourite creators, a tolerance for repeats (seeing the same topic or
creator again and again bores them), and a patience. For each post shown they complete,
watch part of it, or skip; they like and follow; they leave the session when bored; they
come back the next day with a probability that grows with how good yesterday's session
was. Captions are real text (topic words and hashtags) embedded with the real MiniLM model.

`--policies ab-ranker` runs an A/B experiment on ranker versions through the real flags and
experiments code (apps.experiments; it needs the database: the dev one, or DATABASE_URL):
a `feed.ranker` flag and a running experiment `sim-ranker` (arms `model`: the nightly
trained ranker, `heuristic`: no learned model; 50/50 of a layer of its own) are created;
each simulated user is a unit, its session reads `feed.ranker` through
`apps.experiments.evaluation` (which assigns it, stores the sticky assignment and logs the
exposure to the event stream), and the page is ranked by that arm's choice. Printed: per
arm the users assigned and exposed, watch time per user with its standard error, the
sample-ratio check and the difference's test (apps.experiments.stats). Rows removed after.

Printed per policy: watch time per session (seconds), completion rate (completions per
post shown), next-day retention (share of day-0 users active on the last day, and mean
day-to-day return), catalogue coverage (share of the catalogue ever shown), and the
offline metrics of the last ranker the For You policy trained (held-out, time split).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from apps.feed import artifacts, ranking, rerank, serving, training  # noqa: E402
from apps.feed import pools as pools_mod  # noqa: E402
from apps.feed.candidates import ViewerContext, take  # noqa: E402
from apps.feed.embeddings import encode  # noqa: E402
from apps.feed.pools import Catalogue  # noqa: E402
from apps.feed.topics import TOPICS  # noqa: E402

DAY = 86400.0
PAGE = 8
TEMPLATES = ("best {w} video ever", "my {w} routine today", "you will not believe this {w}",
             "quick {w} tip", "{w} fails compilation", "day in the life: {w}",
             "top 5 {w} moments", "{w} tutorial for beginners", "honest review of {w}",
             "{w} challenge with friends", "{w} hacks that work", "weekend {w} vlog")


@dataclass
class World:
    """The ground truth the policies never see directly."""

    topic: np.ndarray  # per post
    quality: np.ndarray
    creator_rows: np.ndarray  # per post: index of its creator
    cat: Catalogue  # metadata as the feed sees it (counters reset per policy)
    born: np.ndarray  # simulated second each post appears
    taste: np.ndarray  # (users, topics)
    favourites: list[set[int]]  # per user: creator indices
    tolerance: np.ndarray
    patience: np.ndarray
    language: list[str]
    creator_ids: np.ndarray


def make_world(rng: np.random.Generator, *, users: int, creators: int, posts: int,
               days: int) -> World:
    topics = list(TOPICS)
    k = len(topics)
    creator_topic = rng.integers(0, k, size=creators)
    creator_ids = np.arange(1_000_000, 1_000_000 + creators, dtype=np.int64)
    creator_row = rng.integers(0, creators, size=posts)
    topic = np.where(rng.random(posts) < 0.8, creator_topic[creator_row],
                     rng.integers(0, k, size=posts))
    template = rng.integers(0, len(TEMPLATES), size=posts)
    quality = rng.beta(2.0, 3.0, size=posts)
    # A third of the catalogue exists at the start; the rest arrives over the days.
    born = np.where(rng.random(posts) < 0.35, rng.uniform(-7 * DAY, 0, posts),
                    rng.uniform(0, days * DAY, posts))
    texts: dict[tuple[int, int], str] = {}
    tags: dict[tuple[int, int], tuple[str, ...]] = {}
    for t, name in enumerate(topics):
        spec_tags = list(TOPICS[name]["hashtags"])  # type: ignore[call-overload]
        word = str(TOPICS[name]["label"]).lower()
        for j, tpl in enumerate(TEMPLATES):
            chosen = (spec_tags[j % len(spec_tags)], spec_tags[(j + 1) % len(spec_tags)])
            texts[(t, j)] = tpl.format(w=word) + " " + " ".join(f"#{x}" for x in chosen)
            tags[(t, j)] = chosen
    keys = list(texts)
    vecs = encode([texts[key] for key in keys])
    by_key = {key: vecs[i] for i, key in enumerate(keys)}
    vectors = np.vstack([by_key[(int(topic[i]), int(template[i]))] for i in range(posts)])
    vectors += rng.normal(0, 0.02, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    languages = np.where(rng.random(posts) < 0.75, "en", rng.choice(["es", "pt"], size=posts))
    sounds = rng.integers(1, 400, size=posts) + 1000 * topic  # sounds lean to a topic
    cat = Catalogue(
        ids=np.arange(1, posts + 1, dtype=np.int64), author=creator_ids[creator_row],
        sound=sounds.astype(np.int64), language=[str(x) for x in languages],
        published=born.astype(np.float64),
        duration=rng.uniform(8, 60, posts).astype(np.float32),
        views=np.zeros(posts, np.float32), likes=np.zeros(posts, np.float32),
        comments=np.zeros(posts, np.float32), shares=np.zeros(posts, np.float32),
        impressions=np.zeros(posts, np.float32), completions=np.zeros(posts, np.float32),
        trend=np.zeros(posts, np.float32), new_creator=np.zeros(posts, bool),
        hashtags=[tags[(int(topic[i]), int(template[i]))] for i in range(posts)],
        vectors=vectors.astype(np.float32),
    )
    taste = rng.dirichlet(np.full(k, 0.15), size=users)
    favourites = []
    for u in range(users):
        liked_topics = np.argsort(-taste[u])[:2]
        pool = np.flatnonzero(np.isin(creator_topic, liked_topics))
        favourites.append(set(rng.choice(pool, size=min(6, len(pool)), replace=False).tolist()))
    user_lang = np.where(rng.random(users) < 0.75, "en", rng.choice(["es", "pt"], size=users))
    return World(topic=topic, quality=quality, creator_rows=creator_row, cat=cat, born=born,
                 taste=taste, favourites=favourites,
                 tolerance=rng.uniform(0.3, 1.0, users), patience=rng.uniform(0.6, 1.4, users),
                 language=[str(x) for x in user_lang], creator_ids=creator_ids)


@dataclass
class UserState:
    seen: set[int] = field(default_factory=set)
    positives: list[int] = field(default_factory=list)
    follows: set[int] = field(default_factory=set)
    recent_topics: list[int] = field(default_factory=list)
    recent_creators: list[int] = field(default_factory=list)


@dataclass
class PolicyStats:
    sessions: int = 0
    watch_s: float = 0.0
    shown: int = 0
    completions: int = 0
    shown_posts: set[int] = field(default_factory=set)
    active_by_day: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    requests: int = 0
    serve_s: float = 0.0
    offline: dict[str, Any] = field(default_factory=dict)
    # ab-ranker: arm -> simulated user -> watch seconds over the run
    arm_watch: dict[str, dict[int, float]] = field(default_factory=dict)


# --- ab-ranker: an experiment on ranker versions through apps.experiments -------------------

SIM_UNIT_BASE = 9 * 10**15  # simulated users' unit ids, far from real users'


def experiment_setup() -> None:
    from apps.experiments import config, services
    from apps.experiments.models import ExperimentMetric, Flag, Metric

    experiment_teardown()
    env = config.environment()
    if not Flag.objects.filter(key="feed.ranker", environment=env).exists():
        services.flag_save(actor=None, key="feed.ranker", environment=env,
                           kind="multivariate", default_value="active",
                           variations=["active", "heuristic"],
                           description="created by bench/reco_simulate.py")
    layer = services.layer_create(actor=None, key="sim-ranking")
    exp = services.experiment_create(
        actor=None, key="sim-ranker", layer=layer, traffic_percent=100, environment=env,
        arms=[{"key": "model", "weight": 1, "values": {"feed.ranker": "active"}},
              {"key": "heuristic", "weight": 1, "values": {"feed.ranker": "heuristic"}}])
    metric = Metric.objects.filter(key__icontains="watch").order_by("id").first() \
        or Metric.objects.order_by("id").first()
    assert metric is not None, "migration experiments.0003 seeds the standard metrics"
    ExperimentMetric.objects.create(experiment=exp, metric=metric, role="primary")
    services.experiment_start(actor=None, experiment=exp)
    config.forget()


def experiment_teardown() -> None:
    from apps.experiments.models import Experiment, Flag, Layer

    Experiment.objects.filter(key="sim-ranker").delete()
    Layer.objects.filter(key="sim-ranking").delete()
    Flag.objects.filter(key="feed.ranker",
                        description="created by bench/reco_simulate.py").delete()


def experiment_ranker(u: int, model: ranking.LoadedModel | None
                      ) -> tuple[ranking.LoadedModel | None, str]:
    """The session's ranker as serving chooses it: the flag read through the evaluator
    (assignment, sticky row and exposure on this read), then ranking.model_for."""
    from apps.experiments.evaluation import Evaluation
    from apps.experiments.rules import Unit

    ev = Evaluation(Unit(user_id=SIM_UNIT_BASE + u))
    choice = ev.value("feed.ranker", "active")
    return ranking.model_for(choice, active=model), ev.exposed.get("sim-ranker", "")


def experiment_report(stats: PolicyStats) -> None:
    from apps.events.log import LoggedBatch, RedisStreamEventLog
    from apps.experiments.models import Assignment, Experiment
    from apps.experiments.stats.fixed import z_test
    from apps.experiments.stats.srm import srm_check
    from apps.experiments.stats.summary import mean_summary

    stored = dict(Assignment.objects.filter(experiment__key="sim-ranker")
                  .values_list("unit", "arm"))
    started = Experiment.objects.get(key="sim-ranker").started_at
    assert started is not None
    since_ms = int(started.timestamp() * 1000)  # this run's exposures, not an earlier run's
    log = RedisStreamEventLog()
    exposed: dict[str, set[str]] = {}
    entries: Any = log.client.xrange(log.stream)
    for _id, fields in entries:
        batch = LoggedBatch.from_json(fields["b"])
        for e in batch.events:
            if e["type"] == "exposure" and e["data"].get("experiment") == "sim-ranker" \
                    and e["ts"] >= since_ms:
                exposed.setdefault(e["data"]["arm"], set()).add(f"u:{batch.user_id}")
    print("\nexperiment sim-ranker (feed.ranker: model vs heuristic), per arm:")
    summaries = {}
    for arm in ("model", "heuristic"):
        users = stats.arm_watch.get(arm, {})
        values = np.array(list(users.values()), dtype=float) / 60.0
        summaries[arm] = mean_summary(values)
        n_stored = sum(1 for a in stored.values() if a == arm)
        print(f"  {arm:<10} users {len(users):>4}  assigned (stored) {n_stored:>4}  exposed "
              f"(events) {len(exposed.get(arm, ())):>4}  watch min/user "
              f"{summaries[arm].estimate:7.2f} ± {summaries[arm].std_error:.2f}")
    srm = srm_check([summaries["model"].n, summaries["heuristic"].n], [1, 1])
    diff = summaries["model"].estimate - summaries["heuristic"].estimate
    p = z_test(summaries["heuristic"], summaries["model"])
    print(f"  SRM chi-squared p = {srm.p_value:.3g} ({'FLAGGED' if srm.flagged else 'ok'}); "
          f"model - heuristic = {diff:+.2f} min/user, p = {p:.3g}")


@dataclass
class Log:
    user: list[int] = field(default_factory=list)
    post: list[int] = field(default_factory=list)
    ts: list[float] = field(default_factory=list)
    watch: list[float] = field(default_factory=list)
    completed: list[bool] = field(default_factory=list)
    liked: list[bool] = field(default_factory=list)
    followed: list[bool] = field(default_factory=list)

    def events(self) -> training.Events:
        return training.Events(
            np.array(self.user, np.int64), np.array(self.post, np.int64),
            np.array(self.ts, np.float64), np.array(self.watch, np.float32),
            np.array(self.completed, bool), np.array(self.liked, bool),
            np.array(self.followed, bool))


def react(world: World, u: int, row: int, st: UserState, rng: np.random.Generator
          ) -> tuple[float, bool, bool, bool]:
    """The hidden model of one user watching one post: (watched fraction, completed,
    liked, followed)."""
    k = world.taste.shape[1]
    affinity = world.taste[u, world.topic[row]] * k  # 1.0 = indifferent
    creator = int(world.creator_rows[row])
    fav = creator in world.favourites[u]
    topic = int(world.topic[row])
    same_topic = st.recent_topics[-6:].count(topic)
    same_creator = st.recent_creators[-6:].count(creator)
    boredom = max(0.0, same_topic - 4 * world.tolerance[u]) * 0.5 + 0.8 * same_creator
    logit = (-2.2 + 1.6 * np.log1p(affinity) + 2.5 * (world.quality[row] - 0.4)
             + 1.2 * fav - boredom)
    p = 1.0 / (1.0 + np.exp(-logit))
    completed = bool(rng.random() < p)
    fraction = 1.0 + (rng.random() < 0.3 * p) * 1.0 if completed \
        else float(rng.beta(1.2, 4.0)) * (0.3 + p)
    liked = completed and bool(rng.random() < 0.15 + 0.35 * min(affinity / k, 1.0) + 0.2 * fav)
    followed = completed and bool(rng.random() < (0.08 if fav else 0.01))
    return min(float(fraction), 2.0), completed, liked, followed


def for_you_page(world: World, u: int, st: UserState, p: pools_mod.Pools,
                 model: ranking.LoadedModel | None, now: float, rng: np.random.Generator,
                 born_mask: np.ndarray) -> list[int]:
    cat = world.cat
    hist = training.History(positives={u: st.positives[-30:]}, plays={}, likes={},
                            impressions={}, completions={}, recent={})
    ctx: ViewerContext = training.context_for(u, hist, cat, follows=st.follows,
                                              language=world.language[u])
    ctx.cf_user = None  # serving.score sets it from the model
    # The per-viewer reads serving makes in SQL: followed creators' recent posts, and the
    # pgvector neighbours of the taste vector over every post.
    live = np.flatnonzero(born_mask)
    followed = None
    if st.follows:
        rows = live[np.isin(cat.author[live], np.fromiter(st.follows, np.int64))
                    & (cat.published[live] >= now - 7 * DAY)]
        rows = rows[np.argsort(-cat.published[rows])][:150]
        followed = take(cat, rows) if len(rows) else None
    similar, sims = None, {}
    if ctx.profile is not None and cat.vectors is not None:
        s = cat.vectors[live] @ ctx.profile
        top = live[np.argsort(-s)[:100]]
        similar = take(cat, top)
        sims = {int(cat.ids[r]): float(cat.vectors[r] @ ctx.profile) for r in top}
    scored = serving.score(p, ctx, model=model, followed=followed, similar=similar, sims=sims,
                           now=now, seen=lambda ids: {i for i in ids if i in st.seen})
    seen = {pid for pid in scored.cs.cat.ids.tolist() if pid in st.seen}
    adj = rerank.adjust(scored.cs, scored.base, ctx, seen=seen, now=now)
    shortlist, draws = rerank.shortlist(scored.cs, adj, limit=PAGE, rng=rng)
    page = rerank.arrange(scored.cs, adj, shortlist, limit=PAGE, draws=draws)
    return [int(scored.cs.cat.ids[r]) for r, _ in page]


def als_fit(log: Log, users: int, posts: int) -> tuple[np.ndarray, np.ndarray]:
    """The ALS policy's nightly model (`implicit`, as the offline baseline): user and item
    factors from this policy's own log (engaged views, confidence as in training)."""
    from implicit.als import AlternatingLeastSquares  # type: ignore[import-untyped]
    from scipy.sparse import csr_matrix

    ev = log.events()
    keep = ev.completed | ev.liked | (ev.watch >= 0.5)
    conf = (np.minimum(ev.watch, 1.0) + 2.0 * ev.completed + 2.0 * ev.liked)[keep]
    matrix = csr_matrix((conf.astype(np.float32), (ev.user[keep], ev.post[keep] - 1)),
                        shape=(users, posts))
    model = AlternatingLeastSquares(factors=32, regularization=0.05, iterations=15,
                                    random_state=7, num_threads=1)
    model.fit(matrix, show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def als_page(state: tuple[np.ndarray, np.ndarray] | None, u: int, st: UserState,
             born_mask: np.ndarray, plays: np.ndarray, likes: np.ndarray,
             world: World) -> list[int]:
    """Top unseen live posts by u . v; popularity for a user the model has not seen."""
    cat = world.cat
    live = np.flatnonzero(born_mask)
    if state is None or not np.any(state[0][u]):
        score = plays[live] + 3 * likes[live] + 1e-3 * world.born[live] / DAY
    else:
        score = state[1][live] @ state[0][u]
    live = live[np.argsort(-score)]
    return [int(cat.ids[r]) for r in live[:PAGE * 40].tolist()
            if int(cat.ids[r]) not in st.seen][:PAGE]


def run_policy(name: str, world: World, args: argparse.Namespace) -> PolicyStats:
    rng = np.random.default_rng(args.seed + 1)  # the same user randomness for every policy
    page_rng = np.random.default_rng(args.seed + 2)
    users = world.taste.shape[0]
    cat = world.cat
    n = len(cat)
    plays = np.zeros(n, np.float32)
    likes = np.zeros(n, np.float32)
    comps = np.zeros(n, np.float32)
    comps_day = np.zeros(n, np.float32)
    states = [UserState() for _ in range(users)]
    stats = PolicyStats()
    log = Log()
    model: ranking.LoadedModel | None = None
    als_state: tuple[np.ndarray, np.ndarray] | None = None
    active = np.ones(users, dtype=bool)
    for day in range(args.days):
        day_start = day * DAY
        born_mask = world.born <= day_start + DAY / 2
        pools = None
        if name in ("for-you", "ab-ranker"):
            # The nightly jobs: counters as this policy observed them, pools, the ranker.
            cat.views, cat.likes, cat.impressions = plays.copy(), likes.copy(), plays.copy()
            cat.completions, cat.trend = comps.copy(), comps_day.copy()
            cat.new_creator = np.zeros(n, bool)
            visible = take(cat, np.flatnonzero(born_mask))
            pools = pools_mod.draw(visible, now=day_start + DAY / 2)
            assert cat.vectors is not None
            pools.catalogue.vectors = cat.vectors[
                np.array([cat.index[int(i)] for i in pools.catalogue.ids.tolist()], np.int64)]
            if day > 0 and len(log.user) > 200:
                ev = log.events()
                follows = {u: {int(x) for x in states[u].follows} for u in range(users)}
                result = training.train(ev, cat, follows=follows,
                                        languages=dict(enumerate(world.language)), n_jobs=1)
                model = artifacts.to_loaded(result, version=day)
                stats.offline = result.metrics
        if name == "als":
            als_state = als_fit(log, users, n) if day > 0 and len(log.user) > 200 else None
        comps_day[:] = 0
        order = np.flatnonzero(active)
        stats.active_by_day.append(int(active.sum()))
        tomorrow = np.zeros(users, dtype=bool)
        for u in order.tolist():
            st = states[u]
            now = day_start + DAY / 2 + rng.uniform(-DAY / 3, DAY / 3)
            stats.sessions += 1
            session_model, arm = model, ""
            if name == "ab-ranker":
                session_model, arm = experiment_ranker(u, model)
            watched = 0.0
            shown = completed_n = 0
            skips_in_row = 0
            leave = False
            while not leave and shown < args.max_posts:
                t0 = time.perf_counter()
                if name == "chronological":
                    live = np.flatnonzero(born_mask)
                    live = live[np.argsort(-world.born[live])]
                    page = [int(cat.ids[r]) for r in live[:PAGE * 6].tolist()
                            if int(cat.ids[r]) not in st.seen][:PAGE]
                elif name == "als":
                    page = als_page(als_state, u, st, born_mask, plays, likes, world)
                elif name == "popularity":
                    live = np.flatnonzero(born_mask)
                    score = plays[live] + 3 * likes[live] + 1e-3 * world.born[live] / DAY
                    live = live[np.argsort(-score)]
                    page = [int(cat.ids[r]) for r in live[:PAGE * 40].tolist()
                            if int(cat.ids[r]) not in st.seen][:PAGE]
                else:
                    assert pools is not None
                    page = for_you_page(world, u, st, pools, session_model, now, page_rng,
                                        born_mask)
                stats.requests += 1
                stats.serve_s += time.perf_counter() - t0
                if not page:
                    break
                for pid in page:
                    row = cat.index[pid]
                    frac, done, liked, fol = react(world, u, row, st, rng)
                    st.seen.add(pid)
                    st.recent_topics.append(int(world.topic[row]))
                    st.recent_creators.append(int(world.creator_rows[row]))
                    shown += 1
                    stats.shown_posts.add(pid)
                    watched += frac * float(cat.duration[row])
                    plays[row] += 1
                    if done:
                        completed_n += 1
                        comps[row] += 1
                        comps_day[row] += 1
                        st.positives.append(pid)
                    if liked:
                        likes[row] += 1
                        if pid not in st.positives:
                            st.positives.append(pid)
                    if fol:
                        st.follows.add(int(cat.author[row]))
                    log.user.append(u)
                    log.post.append(pid)
                    log.ts.append(now)
                    log.watch.append(frac)
                    log.completed.append(done)
                    log.liked.append(liked)
                    log.followed.append(fol)
                    now += frac * float(cat.duration[row]) + 1.0
                    skips_in_row = 0 if done else skips_in_row + (frac < 0.25)
                    p_leave = (0.02 + 0.07 * skips_in_row) / world.patience[u]
                    if rng.random() < p_leave:
                        leave = True
                        break
            stats.watch_s += watched
            if arm:
                stats.arm_watch.setdefault(arm, {})
                stats.arm_watch[arm][u] = stats.arm_watch[arm].get(u, 0.0) + watched
            stats.shown += shown
            stats.completions += completed_n
            rate = completed_n / shown if shown else 0.0
            tomorrow[u] = rng.random() < min(0.95, 0.25 + 1.1 * rate)
        if day > 0:
            stats.returns.append(float(tomorrow[active].mean()) if active.any() else 0.0)
        else:
            stats.returns.append(float(tomorrow.mean()))
        active = tomorrow
        print(f"  {name:<13} day {day}: {stats.active_by_day[-1]} active, "
              f"{stats.shown} shown so far, {stats.requests} pages "
              f"({stats.serve_s / max(stats.requests, 1) * 1000:.1f} ms/page)", flush=True)
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--creators", type=int, default=250)
    parser.add_argument("--posts", type=int, default=4000)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--max-posts", type=int, default=80, help="per session")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--policies", nargs="+",
                        default=["chronological", "popularity", "als", "for-you"])
    args = parser.parse_args()
    started = time.time()
    world = make_world(np.random.default_rng(args.seed), users=args.users,
                       creators=args.creators, posts=args.posts, days=args.days)
    print(f"world: {args.users} users, {args.creators} creators, {args.posts} posts "
          f"({int((world.born <= 0).sum())} at the start), {args.days} days; "
          f"captions embedded in {time.time() - started:.1f}s", flush=True)
    results: dict[str, PolicyStats] = {}
    if "ab-ranker" in args.policies:
        experiment_setup()
    try:
        for name in args.policies:
            results[name] = run_policy(name, world, args)
        if "ab-ranker" in results:
            experiment_report(results["ab-ranker"])
    finally:
        if "ab-ranker" in args.policies:
            experiment_teardown()
    total_posts = int((world.born <= (args.days - 0.5) * DAY).sum())
    print()
    print(f"{'policy':<14} {'watch s/session':>16} {'completion':>11} {'retained':>9} "
          f"{'return/day':>11} {'coverage':>9} {'ms/page':>8}")
    for name, s in results.items():
        print(f"{name:<14} {s.watch_s / max(s.sessions, 1):>16.1f} "
              f"{s.completions / max(s.shown, 1):>11.3f} "
              f"{s.active_by_day[-1] / max(s.active_by_day[0], 1):>9.3f} "
              f"{float(np.mean(s.returns)):>11.3f} "
              f"{len(s.shown_posts) / total_posts:>9.3f} "
              f"{s.serve_s / max(s.requests, 1) * 1000:>8.1f}")
    if "for-you" in results and "popularity" in results:
        fy, pop = results["for-you"], results["popularity"]
        ratio = (fy.watch_s / max(fy.sessions, 1)) / max(pop.watch_s / max(pop.sessions, 1),
                                                         1e-9)
        cov = len(fy.shown_posts) / max(len(pop.shown_posts), 1)
        print(f"\nfor-you / popularity: watch time per session x{ratio:.2f}, "
              f"catalogue coverage x{cov:.2f}")
    if "for-you" in results and "als" in results:
        fy, als = results["for-you"], results["als"]
        ratio = (fy.watch_s / max(fy.sessions, 1)) / max(als.watch_s / max(als.sessions, 1),
                                                         1e-9)
        print(f"for-you / als: watch time per session x{ratio:.2f}")
    if "for-you" in results and results["for-you"].offline:
        print("\noffline metrics of the last nightly ranker (held-out simulated events, "
              "time split):")
        for policy, values in results["for-you"].offline.items():
            print(f"  {policy:<14} " + "  ".join(f"{k}={v}" for k, v in values.items()))
    print(f"\ntotal {time.time() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
