"""What a For You page scored from scratch costs (issue 21, speed; issue 19's flags): its
queries do not grow with the page size or the candidates, it evaluates the viewer's flags
once (the ranker's and the ad load's from one evaluation, one exposure), and the numpy
stages 1-2 give the same candidates, features and order as the per-row loops they
replaced."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import chain
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.feed import candidates, ranking, training
from apps.feed.artifacts import FACTORS
from apps.feed.candidates import ViewerContext, take
from apps.feed.pools import draw
from apps.feed.serving import score
from apps.feed.serving.sources import forget_described
from tests.factories import UserFactory
from tests.feed.conftest import ids_of, make_post
from tests.feed.test_retrieval import NOW, catalogue, synthetic_events

FOR_YOU = "/api/v1/feed/for-you"


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _queries(client: APIClient, limit: int) -> list[str]:
    # Posts outside the pools are described once per pools stamp (sources.described):
    # each page here reads them afresh, the most a page reads.
    forget_described()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(FOR_YOU, {"limit": limit})
    assert response.status_code == 200, response.content
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
@pytest.mark.usefixtures("_ads_fresh")
def test_a_scored_page_costs_the_same_queries_whatever_the_page_size_or_candidates(
        settings: Any) -> None:
    settings.SWIPEME_FEED_SCORED_TTL = 0  # every page scored from scratch
    # The ads' snapshot is read again every 5 s: on a slow machine that read fell on one
    # of the pages compared (2 statements more); here it is read once, on the first page.
    settings.SWIPEME_ADS_ELIGIBLE_TTL = 3600.0
    viewer = UserFactory()
    creators = [UserFactory() for _ in range(3)]
    client = _client(viewer)
    for creator in creators:
        assert client.post(f"/api/v1/users/{creator.username}/follow").status_code in (200, 201)
    posts = [make_post(author=creators[i % 3], tags=("travel", f"t{i % 4}"),
                       views_count=100 + i) for i in range(16)]
    for post in posts[:3]:  # positives: their authors, tags and vectors are read
        assert client.post(f"/api/v1/posts/{post.pk}/like").status_code in (200, 201)
    ids_of(client.get(FOR_YOU, {"limit": 1}))  # the pools are built in this process
    small, large = _queries(client, 2), _queries(client, 12)
    # Posts published after the pools were drawn (followed creators' and others): they
    # reach the page through the per-viewer reads outside the pools, never one by one.
    for i in range(24):
        by = {"author": creators[i % 3]} if i % 2 else {}
        make_post(tags=("travel",), views_count=50 + i, **by)
    more = _queries(client, 12)
    assert len(small) == len(large) == len(more), (small, large, more)
    assert len(more) <= 16, more


@pytest.fixture
def _ads_fresh() -> Iterator[None]:
    from apps.ads.delivery import serve
    from apps.experiments import config

    serve.forget()
    config.forget()
    yield
    serve.forget()
    config.forget()


@pytest.mark.django_db
@pytest.mark.usefixtures("_ads_fresh")
def test_a_scored_page_evaluates_the_flags_once_for_the_ranker_and_the_ad_load(
        monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """One evaluation per page: the viewer's stored arms are read once and the exposure is
    recorded once, though the ranker (feed.ranker) and the ad filler (ads.load) both read
    flags the running experiment sets."""
    from apps.ads.delivery import serve
    from apps.ads.models import DeliverySettings
    from apps.experiments import exposures
    from apps.experiments import services as experiments
    from apps.experiments.models import Assignment
    from tests.ads.core_helpers import live_ad
    from tests.events.helpers import logged_events
    from tests.experiments.flag_helpers import STAFF, primary_metric

    settings.SWIPEME_FEED_SCORED_TTL = 0
    for i in range(20):
        make_post(tags=("travel",), views_count=100 + i)
    live_ad(group_kw={"bid_strategy": "cpm", "bid_micros": 4_000_000})
    DeliverySettings.objects.update_or_create(
        pk=1, defaults={"min_gap": 3, "max_gap": 3, "reserve_cpm_micros": 0})
    serve.forget()
    experiments.flag_save(actor=STAFF, key="feed.ranker", kind="multivariate",
                          default_value="active", variations=["active", "heuristic"])
    experiments.flag_save(actor=STAFF, key="ads.load", kind="multivariate", default_value=0,
                          variations=[0, 12], client_visible=False)
    exp = experiments.experiment_create(
        actor=STAFF, key="page-flags", layer=experiments.layer_create(actor=STAFF, key="page"),
        traffic_percent=100, arms=[
            {"key": "a", "weight": 1, "values": {"feed.ranker": "heuristic", "ads.load": 12}},
            {"key": "b", "weight": 1, "values": {"feed.ranker": "active", "ads.load": 12}}])
    primary_metric(exp)
    experiments.experiment_start(actor=STAFF, experiment=exp)

    recorded: list[str] = []
    original = exposures.record

    def counting(**kw: Any) -> bool:
        recorded.append(str(kw["experiment_key"]))
        return original(**kw)

    monkeypatch.setattr(exposures, "record", counting)
    viewer = UserFactory()
    client = _client(viewer)
    sql = _queries(client, 8)
    sticky = [q for q in sql if Assignment._meta.db_table in q and q.lstrip().startswith("SELECT")]
    assert len(sticky) == 1, sticky  # two evaluations read the stored arms twice
    assert recorded == ["page-flags"]
    assert [e["data"]["experiment"] for e in logged_events()
            if e["type"] == "exposure"] == ["page-flags"]
    # The ad filler read ads.load from the page's evaluation: the arm's load (one ad per
    # 12 posts) and not the staff load of 3, without a second exposure.
    items = client.get(FOR_YOU, {"limit": 8}).json()["results"]
    assert [i["type"] for i in items].count("ad") <= 1
    assert recorded == ["page-flags", "page-flags"]  # once per page (deduped per day)


# --- the same ranking as the per-row loops the numpy code replaced ----------------------------


def _old_feature_columns(cs: candidates.CandidateSet, ctx: ViewerContext) -> np.ndarray:
    """The affinity and match columns as the per-row loops computed them."""
    cat = cs.cat
    n_pos = float(max(len(ctx.positives), 1))
    author = [ctx.positive_authors.get(int(a), 0) / n_pos for a in cat.author.tolist()]
    sound = [ctx.positive_sounds.get(int(s), 0) / n_pos if s else 0 for s in cat.sound.tolist()]
    tags = [sum(ctx.positive_tags.get(t, 0) for t in row) / n_pos for row in cat.hashtags]
    interest = [any(t in ctx.interest_tags for t in row) for row in cat.hashtags]
    lang = [lg == ctx.language for lg in cat.language]
    region = [c == ctx.country for c in cat.country]
    return np.array([author, tags, sound, interest, lang, region], dtype=np.float32).T


def _old_coengaged(table: dict[int, tuple[np.ndarray, np.ndarray]],
                   positives: list[int]) -> dict[int, float]:
    scores: dict[int, float] = {}
    for i, pid in enumerate(positives[:candidates.SEQUENCE_READ]):
        found = table.get(pid)
        if found is None:
            continue
        w = 0.5 ** (i / candidates.SEQUENCE_HALF_LIFE)
        for other, sim in zip(found[0].tolist(), found[1].tolist(), strict=True):
            scores[other] = scores.get(other, 0.0) + w * sim
    mine = set(positives)
    best = sorted((p for p in scores if p not in mine), key=lambda p: -scores[p])
    return {p: scores[p] for p in best[:candidates.COENGAGED_TAKE]}


def test_stages_1_and_2_match_the_per_row_loops_they_replaced() -> None:
    n = 1500
    cat = catalogue(n, seed=3)
    cat.country = ["FR" if i % 3 == 0 else "US" for i in range(n)]
    cat.hashtags = [tuple(f"t{(i * k) % 37}" for k in range(i % 4)) for i in range(n)]
    cat.language = ["en" if i % 5 else "fr" for i in range(n)]
    p = draw(cat, now=NOW)
    assert cat.vectors is not None
    p.catalogue.vectors = cat.vectors[p.catalogue.ids - 1]
    p.stamp = "test-stages-match-the-loops"
    ev = synthetic_events(n, users=40)
    cf_users, cf_items = training.factorise(ev)
    model = ranking.LoadedModel(version=5, heads={}, feature_names=list(ranking.FEATURES),
                                cf_items=cf_items, cf_users=cf_users, factors=FACTORS,
                                coengaged=training.coengagement(ev))
    positives = ev.post[ev.user == 4].tolist()[:30]
    # One interest tag: the sources are asked in a fixed order (a set of several strings
    # iterates in a per-process order).
    ctx = ViewerContext(user_id=4, language="en", country="FR", follows={1003, 1007},
                        interest_tags={"t2"}, positives=positives,
                        positive_tags=Counter({"t0": 2, "t3": 1, "t9": 4}),
                        positive_sounds=Counter({5: 1, 9: 2}), ni_posts={2, 4, 6},
                        profile=cat.vectors[0])
    outside = np.arange(n - 40, n)

    def described(ids: list[int]) -> Any:
        return take(cat, np.array(ids, dtype=np.int64) - 1)

    scored = score(p, ctx, model=model, now=NOW, learned=False, lookup=described,
                   seen=lambda ids: {i for i in ids if i % 11 == 0},
                   followed=take(cat, outside[:20]), similar=take(cat, outside[10:]),
                   sims={int(i): 0.5 for i in cat.ids[outside[10:]]})
    cs = scored.cs

    # Co-engagement: the same neighbours, scores and order.
    assert candidates.coengaged_scores(model.coengaged, positives) == \
        _old_coengaged(model.coengaged, positives)
    # The union of the sources: each row once, in the order of its first proposal, with
    # the flags of every source that proposed it (as the dict of flags did).
    rng = np.random.default_rng(5)
    proposals = [rng.choice(300, size=int(rng.integers(0, 120)), replace=False)
                 for _ in range(9)]
    bits = [1 << i for i in range(9)]
    flags: dict[int, int] = {}
    for rows_, bit in zip(proposals, bits, strict=True):
        for row in rows_.tolist():
            flags[row] = flags.get(row, 0) | bit
    got_rows, got_bits = candidates.union(proposals, bits, 300)
    assert got_rows.tolist() == list(flags)
    assert got_bits.tolist() == list(flags.values())
    # The feature matrix's affinity and match columns, as the loops computed them.
    cols = [ranking.FEATURES.index(name) for name in (
        "author_affinity", "tag_affinity", "sound_affinity", "interest_match", "lang_match",
        "region_match")]
    assert np.array_equal(scored.x[:, cols], _old_feature_columns(cs, ctx))
    assert scored.x[:, cols[1]].any()
    assert scored.x[:, cols[3]].any()
    # The list columns followed their rows.
    rows = cs.cat.ids - 1
    assert cs.cat.hashtags == [cat.hashtags[r] for r in rows.tolist()]
    assert cs.cat.language == [cat.language[r] for r in rows.tolist()]
    assert list(chain.from_iterable(cs.cat.hashtags))  # some tags to compare


@pytest.mark.django_db
def test_the_compiled_page_hydration_gives_what_the_orm_gives() -> None:
    """`hydrate` runs a statement compiled once per kind of viewer (signed in or out) with
    the viewer bound: the same objects, joined rows, viewer flags and serialised posts as
    the ORM queryset it replaced, with the viewer's relations read when it runs (a like
    after the first page shows; another viewer gets their own flags)."""
    from apps.content.models import Post
    from apps.content.selectors import for_display
    from apps.core import compiled_sql
    from apps.engagement.models import Like
    from apps.feed.api.serializers import FeedPostSerializer
    from apps.feed.serving import hydrate, with_viewer_flags

    viewer, creator = UserFactory(), UserFactory()
    posts = [make_post(author=creator, tags=("travel",)) for _ in range(3)]
    draft = make_post(status=Post.Status.DRAFT)
    ids = [p.pk for p in posts] + [draft.pk]

    def orm(who: Any) -> dict[int, Any]:
        qs = Post.objects.filter(pk__in=ids, status=Post.Status.PUBLISHED)
        return {p.pk: p for p in with_viewer_flags(for_display(qs), who)}

    def shown(found: dict[int, Any]) -> list[Any]:
        rows = [found[pid] for pid in sorted(found)]
        for post in rows:
            post.feed_reco = {"source": "trending", "position": 0, "request_id": "r"}
        return list(FeedPostSerializer(rows, many=True).data)  # type: ignore[arg-type]

    for who in (viewer, None):
        found = hydrate(who, ids)
        assert set(found) == {p.pk for p in posts}  # the draft is not shown
        assert shown(found) == shown(orm(who))
        assert found[posts[0].pk].author.username == creator.username
    compiled = len(compiled_sql._plans)
    Like.objects.create(user=viewer, post=posts[1])
    again = hydrate(viewer, [posts[1].pk, posts[2].pk])
    other = UserFactory()
    Like.objects.create(user=other, post=posts[2])
    theirs = hydrate(other, [posts[1].pk, posts[2].pk])
    assert len(compiled_sql._plans) == compiled  # one statement per kind of viewer
    assert not getattr(theirs[posts[1].pk], "viewer_liked")  # noqa: B009
    assert getattr(theirs[posts[2].pk], "viewer_liked")  # noqa: B009
    assert getattr(again[posts[1].pk], "viewer_liked")  # noqa: B009 - an annotation
    assert not getattr(again[posts[2].pk], "viewer_liked")  # noqa: B009
    assert shown(again) == shown({k: v for k, v in orm(viewer).items() if k in again})


@pytest.mark.django_db
def test_posts_outside_the_pools_are_described_once_per_pools_stamp() -> None:
    """The followed, similar and co-engaged extras come from one catalogue per pools
    stamp: a post is read once, unpublished ones are absent, rows come in the order asked,
    and new pools (a new stamp) read them again."""
    from apps.content.models import Post
    from apps.feed.serving.sources import DescribedPosts

    posts = [make_post(tags=("travel", f"t{i}"), views_count=10 + i) for i in range(4)]
    draft = make_post(status=Post.Status.DRAFT)
    described = DescribedPosts()
    asked = [posts[2].pk, draft.pk, posts[0].pk]
    with CaptureQueriesContext(connection) as first:
        cat = described.catalogue(asked, "stamp-a")
    assert cat is not None
    assert cat.ids.tolist() == [posts[2].pk, posts[0].pk]
    assert cat.hashtags[0] == ("travel", "t2")
    assert cat.views.tolist() == [12.0, 10.0]
    assert len(first.captured_queries) == 1
    with CaptureQueriesContext(connection) as second:
        more = described.catalogue([posts[0].pk, posts[1].pk, posts[2].pk], "stamp-a")
    assert more is not None
    assert more.ids.tolist() == [posts[0].pk, posts[1].pk, posts[2].pk]
    assert len(second.captured_queries) == 1  # only posts[1] (and the draft) were read
    with CaptureQueriesContext(connection) as third:
        described.catalogue([posts[0].pk, posts[1].pk], "stamp-a")
    assert len(third.captured_queries) == 0
    Post.objects.filter(pk=posts[0].pk).update(views_count=99)
    with CaptureQueriesContext(connection) as fresh:
        cat = described.catalogue([posts[0].pk], "stamp-b")
    assert len(fresh.captured_queries) == 1
    assert cat is not None
    assert cat.views.tolist() == [99.0]


@pytest.mark.django_db
def test_followed_creators_posts_are_read_once_while_the_follows_and_pools_stay() -> None:
    """A viewer's followed creators' recent post ids are kept while their follows and the
    pools' stamp are unchanged (a like or a skip leaves them): the next scored page reads
    none; a follow (the follows are read afresh on every page) or new pools read again."""
    from apps.feed.serving.sources import _followed_recent
    from apps.feed.serving.viewer import viewer_context

    forget_described()
    viewer, first, second = UserFactory(), UserFactory(), UserFactory()
    client = _client(viewer)
    assert client.post(f"/api/v1/users/{first.username}/follow").status_code in (200, 201)
    mine = make_post(author=first, tags=("travel",))
    theirs = make_post(author=second, tags=("travel",))

    def followed(stamp: str) -> tuple[list[int], int]:
        ctx = viewer_context(viewer)
        with CaptureQueriesContext(connection) as read:
            cat = _followed_recent(viewer, ctx, stamp)
        return (cat.ids.tolist() if cat is not None else []), len(read.captured_queries)

    assert followed("stamp-a") == ([mine.pk], 2)  # the ids, then their description
    assert followed("stamp-a") == ([mine.pk], 0)
    assert client.post(f"/api/v1/posts/{mine.pk}/like").status_code in (200, 201)
    assert followed("stamp-a") == ([mine.pk], 0)  # a like changes the positives only
    assert client.post(f"/api/v1/users/{second.username}/follow").status_code in (200, 201)
    ids, queries = followed("stamp-a")
    assert sorted(ids) == sorted([mine.pk, theirs.pk])
    assert queries == 2
    newer = make_post(author=second, tags=("travel",))
    ids, queries = followed("stamp-b")  # new pools: read again
    assert newer.pk in ids
    assert queries == 2
