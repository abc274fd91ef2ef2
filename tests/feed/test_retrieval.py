"""For You retrieval (issue 21): the seen filter before any scoring, trending's window
fallback, and what each retrieval source proposes (eligible, unseen posts only)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from apps.analytics.models import PostHourlyStats
from apps.feed import interactions, ranking, training
from apps.feed.artifacts import FACTORS
from apps.feed.candidates import SOURCES, ViewerContext, session_vector, take
from apps.feed.pools import Catalogue, draw
from apps.feed.pools.drawing import trending_rows
from apps.feed.serving import score
from apps.feed.serving.scoring import PRE_RANK

NOW = 1_800_000_000.0


def catalogue(n: int, *, seed: int = 0, windows: np.ndarray | None = None) -> Catalogue:
    """n synthetic posts: 60 creators, 4 hashtags, published over the last 10 days, with
    random counters (what `pools.draw` and `candidates.generate` read)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    vectors = rng.normal(size=(n, 8)).astype(f32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Catalogue(
        ids=np.arange(1, n + 1, dtype=np.int64),
        author=rng.integers(1000, 1060, n).astype(np.int64),
        sound=rng.integers(1, 30, n).astype(np.int64), language=["en"] * n,
        published=NOW - rng.uniform(0, 10 * 86400, n),
        duration=np.full(n, 20.0, f32), views=rng.integers(0, 5000, n).astype(f32),
        likes=rng.integers(0, 500, n).astype(f32), comments=np.zeros(n, f32),
        shares=np.zeros(n, f32), impressions=rng.integers(1, 100, n).astype(f32),
        completions=rng.integers(0, 50, n).astype(f32),
        trend=rng.random(n).astype(f32), new_creator=np.zeros(n, bool),
        hashtags=[(f"t{i % 4}",) for i in range(n)], vectors=vectors,
        restricted=rng.random(n) < 0.05, trend_windows=windows,
    )


class RecordingHead:
    """A ranker head that records how many rows it was asked to score."""

    def __init__(self) -> None:
        self.rows = 0

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.rows += len(x)
        p = np.linspace(0.1, 0.9, len(x), dtype=np.float32)
        return np.stack([1 - p, p], axis=1)


def recording_model() -> tuple[ranking.LoadedModel, RecordingHead]:
    head = RecordingHead()
    model = ranking.LoadedModel(version=1, heads={"completion": head},
                                feature_names=list(ranking.FEATURES), cf_items={},
                                cf_users={}, factors=0)
    return model, head


def test_seen_posts_never_reach_the_pre_rank_or_the_ranker() -> None:
    p = draw(catalogue(1500), now=NOW)
    ctx = ViewerContext(user_id=7, language="en", positive_tags=Counter({"t1": 3}))
    unfiltered = score(p, ctx, model=None, now=NOW)
    proposed = unfiltered.cs.cat.ids.tolist()
    seen = set(proposed[: len(proposed) // 4])  # a quarter of what the sources propose
    asked: list[list[int]] = []

    def seen_sets(ids: list[int]) -> set[int]:
        asked.append(list(ids))
        return {i for i in ids if i in seen}

    model, head = recording_model()
    scored = score(p, ctx, model=model, now=NOW, seen=seen_sets)
    # The seen-sets were asked once, about every proposed candidate, before scoring.
    assert len(asked) == 1
    assert set(proposed) <= set(asked[0])
    assert len(asked[0]) == scored.generated
    kept = set(scored.cs.cat.ids.tolist())
    assert not kept & seen
    assert scored.dropped_seen >= len(seen)
    # Every row the ranker scored is among the kept (unseen) candidates; it scored the
    # pre-rank's full quota of them, none wasted on seen posts.
    assert scored.generated - scored.dropped_seen > PRE_RANK
    assert head.rows == PRE_RANK
    # Age-restricted posts never reach a minor's scoring either.
    restricted = set(p.catalogue.ids[p.catalogue.restricted].tolist())
    assert restricted
    assert not kept & restricted
    # Without the filter the same pre-rank would have spent rows on seen posts.
    model2, _head2 = recording_model()
    before = score(p, ctx, model=model2, now=NOW)
    assert set(before.cs.cat.ids.tolist()) & seen


def test_trending_widens_its_window_until_it_has_enough_posts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    n = 600
    windows = np.zeros((n, 3), np.float32)
    windows[:5, 0] = np.arange(5, 0, -1)  # 5 posts with engagement in the last hour
    windows[:60, 1] = np.arange(60, 0, -1)  # 60 in the last day
    windows[:450, 2] = np.arange(450, 0, -1)  # 450 in the last week
    cat = catalogue(n, windows=windows)
    rows, window = trending_rows(cat)
    assert window == "7d"  # 400 needed: only the week has them
    assert rows[:450].tolist() == list(range(450))
    # The rest follow by the counters' engagement per age, not by arbitrary ties.
    rest = rows[450:]
    assert (np.diff(cat.trend[rest]) <= 0).all()
    monkeypatch.setattr("apps.feed.pools.drawing.TRENDING_ENOUGH", 50)
    rows, window = trending_rows(cat)
    assert window == "24h"
    assert rows[:60].tolist() == list(range(60))
    monkeypatch.setattr("apps.feed.pools.drawing.TRENDING_ENOUGH", 5)
    rows, window = trending_rows(cat)
    assert window == "1h"
    assert rows[:5].tolist() == list(range(5))
    # draw() records the window it used on the pools.
    assert draw(cat, now=NOW).trending_window == "1h"


@pytest.mark.django_db
def test_post_stats_measure_engagement_per_trending_window() -> None:
    now = timezone.now().replace(minute=30)
    hour = now.replace(minute=0, second=0, microsecond=0)
    rows = [(1, hour, 10), (2, hour - timedelta(hours=5), 10),
            (3, hour - timedelta(days=3), 10), (4, hour - timedelta(days=9), 10)]
    PostHourlyStats.objects.bulk_create(
        [PostHourlyStats(post_id=pid, hour=h, completions=c) for pid, h, c in rows])
    stats = interactions.post_stats([1, 2, 3, 4])
    assert set(stats.windows["1h"]) == {1}
    assert set(stats.windows["24h"]) == {1, 2}
    assert set(stats.windows["7d"]) == {1, 2, 3}
    assert stats.windows["7d"][1] > stats.windows["7d"][3] > 0
    # The catalogue carries them into the pools' drawing.
    cat = Catalogue.from_rows(
        [{"id": pid, "published_at": time.time(), "views_count": 0, "likes_count": 0,
          "comments_count": 0, "shares_count": 0, "favourites_count": 0, "author_id": 1,
          "sound_id": None, "language": "en", "asset__duration_ms": 1000}
         for pid in (1, 2, 3, 4)], stats=stats)
    assert cat.trend_windows is not None
    assert (cat.trend_windows[:, 2] > 0).tolist() == [True, True, True, False]


def synthetic_events(n_posts: int, *, users: int = 60, seed: int = 1) -> training.Events:
    """Users in two camps: even users complete odd posts, odd users even posts."""
    rng = np.random.default_rng(seed)
    u, p = [], []
    for user in range(users):
        mine = np.arange(1 + user % 2, n_posts + 1, 2)
        for post in rng.choice(mine, size=25, replace=False).tolist():
            u.append(user)
            p.append(post)
    m = len(u)
    return training.Events(np.array(u, np.int64), np.array(p, np.int64),
                           NOW - rng.uniform(0, 86400, m), np.ones(m, np.float32),
                           np.ones(m, bool), np.zeros(m, bool), np.zeros(m, bool))


def test_every_retrieval_source_proposes_only_eligible_unseen_posts() -> None:
    n = 1200
    cat = catalogue(n)
    cat.country = ["FR" if i % 3 == 0 else "US" for i in range(n)]
    p = draw(cat, now=NOW)
    assert cat.vectors is not None
    p.catalogue.vectors = cat.vectors[p.catalogue.ids - 1]  # serving attaches them too
    # Serving caches the pooled item factors per (pools stamp, model version): this
    # test's own stamp, so another test's model with the same version is never reused.
    p.stamp = "test-every-retrieval-source"
    ev = synthetic_events(n)
    cf_users, cf_items = training.factorise(ev)
    model = ranking.LoadedModel(version=2, heads={}, feature_names=list(ranking.FEATURES),
                                cf_items=cf_items, cf_users=cf_users, factors=FACTORS,
                                coengaged=training.coengagement(ev))
    user = 4  # an even user: their positives are odd posts
    positives = ev.post[ev.user == user].tolist()
    ctx = ViewerContext(user_id=user, language="en", country="FR", follows={1003, 1007},
                        interest_tags={"t2"}, positives=positives,
                        positive_tags=Counter({"t0": 2}), positive_sounds=Counter({5: 1}),
                        ni_posts={2, 4, 6})
    ctx.profile = cat.vectors[0]
    seen = set(range(100, 400))

    def described(ids: list[int]) -> Catalogue:
        return take(cat, np.array(ids, dtype=np.int64) - 1)

    scored = score(p, ctx, model=model, now=NOW, learned=False, lookup=described,
                   seen=lambda ids: {i for i in ids if i in seen})
    cs = scored.cs
    restricted = set(cat.ids[cat.restricted].tolist()) if cat.restricted is not None else set()
    banned = seen | ctx.ni_posts | set(positives) | restricted
    for j, name in enumerate(SOURCES):
        proposed = set(cs.cat.ids[cs.src[:, j] == 1].tolist())
        if name == "followed":
            assert set(cs.cat.author[cs.src[:, j] == 1].tolist()) <= ctx.follows
        assert proposed, f"{name} proposed nothing"
        assert not proposed & banned, name
    # The learned sources follow the viewer's camp: co-engaged, session and collaborative
    # posts are odd, as their positives.
    for name in ("coengaged", "session", "collab"):
        proposed = cs.cat.ids[cs.src[:, SOURCES.index(name)] == 1]
        assert (proposed % 2 == 1).mean() > 0.75, name  # half by chance


def test_the_session_vector_follows_the_latest_positives_without_retraining() -> None:
    ev = synthetic_events(400)
    _, cf_items = training.factorise(ev)
    even, odd = [4, 8, 10, 12, 14], [3, 5, 7, 9, 11]
    items = np.vstack([cf_items[i] for i in range(1, 401) if i in cf_items])
    ids = np.array([i for i in range(1, 401) if i in cf_items])
    for latest, parity in ((even, 0), (odd, 1)):
        # The same older history; only the last few positives differ.
        vec = session_vector(cf_items, [*latest, 100, 102, 104])
        assert vec is not None
        top = ids[np.argsort(-(items @ vec))[:20]]
        assert (top % 2 == parity).mean() > 0.9


@pytest.mark.django_db
def test_a_completion_event_moves_the_user_vector_at_once_without_retraining() -> None:
    from rest_framework.test import APIClient

    from apps.analytics import services as analytics_services
    from apps.feed.serving import viewer_context
    from tests.events.helpers import event
    from tests.factories import UserFactory
    from tests.feed.conftest import make_post

    cats = [make_post(tags=("cats",)) for _ in range(3)]
    cars = [make_post(tags=("cars",)) for _ in range(3)]
    # The nightly model's item factors: the two topics point different ways.
    cf_items = {p.pk: np.array([1.0, 0.0], np.float32) for p in cats}
    cf_items |= {p.pk: np.array([0.0, 1.0], np.float32) for p in cars}
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    assert session_vector(cf_items, viewer_context(user).positives) is None

    def complete(post_id: int) -> None:
        events = [event("impression", post_id=post_id), event("play_start", post_id=post_id),
                  event("completion", post_id=post_id),
                  event("watch_end", post_id=post_id, watched_ms=15_000, duration_ms=15_000)]
        assert client.post("/api/v1/events", {"events": events},
                           format="json").status_code == 200
        analytics_services.events_consume(consumer="feed-test")

    complete(cars[0].pk)
    vec = session_vector(cf_items, viewer_context(user).positives)
    assert vec is not None
    assert vec[1] > vec[0]  # the user vector leans to cars
    # The same model, no retraining: two cat completions turn it.
    complete(cats[0].pk)
    complete(cats[1].pk)
    vec = session_vector(cf_items, viewer_context(user).positives)
    assert vec is not None
    assert vec[0] > vec[1]


def test_each_source_proposes_at_most_its_quota_and_quotas_move_the_candidates(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.feed import candidates

    n = 1200
    cat = catalogue(n)
    p = draw(cat, now=NOW)
    assert cat.vectors is not None
    p.catalogue.vectors = cat.vectors[p.catalogue.ids - 1]
    ev = synthetic_events(n)
    cf_users, cf_items = training.factorise(ev)
    positives = ev.post[ev.user == 4].tolist()
    ctx = ViewerContext(user_id=4, language="en", positives=positives,
                        positive_tags=Counter({"t0": 2, "t1": 1}),
                        positive_sounds=Counter({5: 1}), cf_user=cf_users[4])
    ctx.profile = cat.vectors[0]
    items = np.vstack([cf_items.get(int(i), np.zeros(FACTORS, np.float32))
                       for i in p.catalogue.ids])
    co = candidates.coengaged_scores(training.coengagement(ev), positives)
    session = session_vector(cf_items, positives)
    props = candidates.propose(p, ctx, cf_items=items, coengaged=co, session=session)
    by_source: dict[str, list[int]] = {}
    for rows, name in zip(props.rows, props.sources, strict=True):
        # sound_tag's quota is shared among its hashtags and sounds; trending may top up.
        cap = candidates.CANDIDATE_BUDGET if name == "trending" else candidates.QUOTAS[name]
        assert len(rows) <= max(cap, candidates.QUOTAS[name]), name
        by_source.setdefault(name, []).extend(rows.tolist())
    assert {"trending", "explore", "language", "sound_tag", "similar", "collab", "session",
            "coengaged"} <= set(by_source)
    # Raising one source's quota adds its next-best rows and leaves the others alone.
    monkeypatch.setitem(candidates.QUOTAS, "collab", candidates.QUOTAS["collab"] + 50)
    more = candidates.propose(p, ctx, cf_items=items, coengaged=co, session=session)
    grown = {name: [r.tolist() for r, s in zip(more.rows, more.sources, strict=True)
                    if s == name] for name in by_source}
    assert len(grown["collab"][0]) == len(by_source["collab"]) + 50
    assert grown["collab"][0][: len(by_source["collab"])] == by_source["collab"]
    assert [r for rows in grown["session"] for r in rows] == by_source["session"]
    # The candidate set follows: the extra collab rows are eligible unseen candidates.
    seen = set(p.catalogue.ids[by_source["collab"][:20]].tolist())
    before = candidates.generate(p, ctx, cf_items=items, coengaged=co, session=session)
    monkeypatch.setitem(candidates.QUOTAS, "collab", candidates.QUOTAS["collab"] + 200)
    after = candidates.generate(p, ctx, cf_items=items, coengaged=co, session=session)
    collab = SOURCES.index("collab")
    assert after.src[:, collab].sum() > before.src[:, collab].sum()
    assert len(after) <= candidates.CANDIDATE_BUDGET  # within the budget all the same
    keep = candidates.eligible_unseen(after, ctx, seen)
    assert not set(after.cat.ids[keep].tolist()) & (seen | set(positives))


def test_candidates_stay_within_the_budget_and_trending_fills_it_for_a_new_viewer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.feed import candidates

    cat = catalogue(3000, seed=4)
    p = draw(cat, now=NOW)
    assert cat.vectors is not None
    p.catalogue.vectors = cat.vectors[p.catalogue.ids - 1]
    monkeypatch.setattr(candidates, "CANDIDATE_BUDGET", 500)
    # A new viewer (no positives, no follows): trending tops the candidates up to the budget.
    cold = candidates.generate(p, ViewerContext(user_id=1, language="xx"))
    assert len(cold) == 500
    assert cold.src[:, SOURCES.index("trending")].sum() >= 500 - candidates.QUOTAS["explore"]
    # A viewer whose sources propose more is cut to the budget, keeping each source's best.
    ctx = ViewerContext(user_id=2, language="en", positive_tags=Counter({"t0": 3, "t1": 1}))
    ctx.profile = cat.vectors[0]
    props = candidates.propose(p, ctx)
    assert len(np.unique(np.concatenate(props.rows))) > 500
    warm = candidates.generate(p, ctx)
    assert len(warm) == 500
    ids = set(warm.cat.ids.tolist())
    for rows, name in zip(props.rows, props.sources, strict=True):
        top = p.catalogue.ids[rows[: max(1, len(rows) // 10)]].tolist()
        assert set(top) <= ids, name  # every source's first tenth survives the cut
    # The cut keeps the candidates eligible and unseen as before (the filter runs after).
    keep = candidates.eligible_unseen(warm, ctx, set(list(ids)[:50]))
    assert keep.sum() <= len(warm) - 50


def test_generate_with_the_seen_filter_builds_only_what_the_filter_after_it_keeps() -> None:
    """`generate(seen=...)` filters the proposals' ids before gathering their metadata: the
    same candidates, rows, flags and similarities as generating every proposal and then
    keeping the eligible unseen ones, the seen-sets asked once about every proposal."""
    from apps.feed import candidates

    cat = catalogue(3000, seed=6)
    p = draw(cat, now=NOW)
    assert cat.vectors is not None
    p.catalogue.vectors = cat.vectors[p.catalogue.ids - 1]
    outside = np.setdiff1d(cat.ids, p.catalogue.ids)
    assert len(outside) > 40
    pooled = p.catalogue.ids
    # Extras as serving passes them: posts outside the pools, some pooled ones too (those
    # only add their source's flag), one post both in `similar` and in `coengaged_extra`.
    similar = take(cat, np.concatenate([outside[:20], pooled[:5]]) - 1)
    sims = {int(pid): 0.5 + i / 100 for i, pid in enumerate(similar.ids.tolist())}
    co_extra = take(cat, np.concatenate([outside[19:40], pooled[5:8]]) - 1)
    co = {int(pid): 1.0 / (i + 1) for i, pid in enumerate(co_extra.ids.tolist())}
    positives = pooled[100:110].tolist()
    ctx = ViewerContext(user_id=int(cat.author[0]), language="en", positives=positives,
                        positive_tags=Counter({"t0": 3, "t1": 1}),
                        ni_posts={int(pooled[200])}, exclude={int(pooled[201])})
    ctx.profile = cat.vectors[0]
    seen = set(pooled[::7].tolist()) | {int(outside[3]), int(outside[25])}
    asked: list[list[int]] = []

    def seen_fn(ids: list[int]) -> set[int]:
        asked.append(ids)
        return {i for i in ids if i in seen}

    every = candidates.generate(p, ctx, similar=similar, similar_sims=sims, coengaged=co,
                                coengaged_extra=co_extra)
    expected = candidates.restrict(every, np.flatnonzero(
        candidates.eligible_unseen(every, ctx, seen)))
    got = candidates.generate(p, ctx, similar=similar, similar_sims=sims, coengaged=co,
                              coengaged_extra=co_extra, seen=seen_fn)
    assert len(asked) == 1
    assert asked[0] == every.cat.ids.tolist()
    assert got.proposed is not None
    assert got.proposed.tolist() == every.cat.ids.tolist()
    assert len(expected) < len(every)  # the filter removed something
    assert got.cat.ids.tolist() == expected.cat.ids.tolist()
    for name in ("src", "text_sim", "cf", "session_sim", "co"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    assert got.cat.hashtags == expected.cat.hashtags
    assert np.array_equal(got.cat.author, expected.cat.author)
    assert not set(got.cat.ids.tolist()) & (seen | set(positives) | ctx.ni_posts | ctx.exclude)
