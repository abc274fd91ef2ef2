"""Stage 1 of For You: candidate generation from several sources.

Sources (bit flags on each candidate, kept for the ranker and the explanation):
followed creators' recent posts; trending (engagement in the narrowest window that has
enough posts); similar to what the viewer completed (text embeddings: pgvector nearest
neighbours plus the pooled matrix); collaborative (the nightly ALS user vector against the
item factors); co-engaged ("people who finished this also finished...": the nightly
item-to-item table, the viewer's most recent positives weighing most); session (the ALS
item factors of the last few posts the viewer completed or liked, so it moves with every
event, without retraining); the same sound and hashtags as recent completions; the
viewer's language and region (popular posts by creators in their country); onboarding
interests; and an exploration pool of new posts and new creators. Pure functions over the
cached pools and a `ViewerContext`: the database reads that feed them live in `serving`.
Every candidate set is filtered (`eligible_unseen`) before anything scores it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise, repeat
from operator import itemgetter
from typing import TypeVar

import numpy as np

from apps.feed.pools import Catalogue, Pools, top_k

SOURCES = ("followed", "trending", "similar", "sound_tag", "language", "explore", "interest",
           "collab", "region", "coengaged", "session")
SRC = {name: i for i, name in enumerate(SOURCES)}
# Candidates per source (per hashtag for interest; shared among the positives' hashtags
# and sounds for sound_tag; at least to CANDIDATE_BUDGET for trending): the one place
# they are set. Tuned by measured recall on the offline protocol's tune users
# (bench/reco_offline.py --tune-quotas), never on its evaluation users.
# Measured (225 tune users, 2026-12-06): the greedy allocation of ~810 candidates a user
# gave language 75, sound_tag 1050, similar 425, collab 150, session 200, coengaged 50 and
# nothing to trending or explore; explore keeps 50 for the bandit's new posts, trending 50
# (and the top-up), and region, interest and followed (which the synthetic world cannot
# measure: no countries, onboarding interests or follows) keep their earlier quotas.
QUOTAS: dict[str, int] = {
    "trending": 50, "explore": 50, "language": 75, "region": 150, "interest": 60,
    "sound_tag": 1050, "similar": 425, "collab": 150, "session": 200, "coengaged": 50,
    "followed": 200,
}
COENGAGED_TAKE = QUOTAS["coengaged"]  # the default `coengaged_scores` take
SOUND_TAG_MIN = 10  # rows per hashtag or sound of the positives, at least
# Pooled proposals per viewer (before the seen filter): trending tops them up to this
# many when the other sources propose fewer (a new viewer still gets a full candidate
# set), and more are cut to it by each source's rank (`within_budget`). Set by candidate
# recall on the offline protocol's tune users (bench/reco_offline.py --split tune --misses
# '{"budget": 1100}'): 900 held 0.784 of the reachable held-out positives, 1,000 0.807,
# 1,100 0.818, 1,250 0.827. serving.score at 1,100 costs what it cost at 900 before, within
# the machine's noise (bench/reco_score_cpu_ab.py, three runs: docs/benchmarks.md, 2026-12-07).
CANDIDATE_BUDGET = 1100
# A viewer who has seen most of what the sources propose (a long scroll: the budget is
# counted before the seen filter): while fewer than REFILL_BELOW candidates are left, the
# pooled posts no source proposed are offered too (`unproposed`: trending's order, then the
# fresh pool, then the rest of the pools), a budget at a time, at most REFILL_ROUNDS times.
REFILL_BELOW = 200
REFILL_ROUNDS = 3
# The co-engaged source: the i-th most recent positive's neighbours weigh 0.5 ** (i / 3).
SEQUENCE_HALF_LIFE = 3.0
SEQUENCE_READ = 30  # positives whose neighbours are read
SESSION_LEN = 5  # the last positives the session vector averages


@dataclass
class ViewerContext:
    user_id: int | None
    language: str = ""
    country: str = ""  # ISO code, upper case
    follows: set[int] = field(default_factory=set)
    positives: list[int] = field(default_factory=list)
    positive_authors: Counter[int] = field(default_factory=Counter)
    positive_sounds: Counter[int] = field(default_factory=Counter)
    positive_tags: Counter[str] = field(default_factory=Counter)
    interest_tags: set[str] = field(default_factory=set)
    ni_posts: set[int] = field(default_factory=set)
    ni_authors: Counter[int] = field(default_factory=Counter)
    ni_sounds: Counter[int] = field(default_factory=Counter)
    ni_tags: Counter[str] = field(default_factory=Counter)
    exclude: set[int] = field(default_factory=set)  # served on earlier pages of this cursor
    adult: bool = False  # may be shown age-restricted posts
    profile: np.ndarray | None = None  # mean text embedding of positives (unit length)
    cf_user: np.ndarray | None = None  # collaborative user factors


@dataclass
class CandidateSet:
    """The candidates' metadata in columns (a Catalogue), which sources proposed each, and
    the similarity scores the sources measured."""

    cat: Catalogue
    src: np.ndarray  # (m, len(SOURCES)) uint8
    text_sim: np.ndarray  # (m,) float32
    cf: np.ndarray  # (m,) float32
    session_sim: np.ndarray | None = None  # (m,) the session vector . item factors
    co: np.ndarray | None = None  # (m,) co-engagement score with the viewer's positives
    # Every proposed post id, the ineligible and seen included (`generate` with `seen`).
    proposed: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.cat)


T = TypeVar("T")


def pick(items: list[T], rows: list[int]) -> list[T]:
    """items[i] for i in rows, gathered in C (`itemgetter`): the per-row list columns of a
    catalogue are taken several times per scored page."""
    if len(rows) > 1:
        return list(itemgetter(*rows)(items))
    return [items[rows[0]]] if rows else []


def take(cat: Catalogue, rows: np.ndarray, *, vectors: bool = True) -> Catalogue:
    r = rows.tolist()
    return Catalogue(
        ids=cat.ids[rows], author=cat.author[rows], sound=cat.sound[rows],
        language=pick(cat.language, r), published=cat.published[rows],
        duration=cat.duration[rows], views=cat.views[rows], likes=cat.likes[rows],
        comments=cat.comments[rows], shares=cat.shares[rows],
        impressions=cat.impressions[rows], completions=cat.completions[rows],
        trend=cat.trend[rows], new_creator=cat.new_creator[rows],
        hashtags=pick(cat.hashtags, r),
        restricted=cat.restricted[rows] if cat.restricted is not None else None,
        vectors=cat.vectors[rows] if vectors and cat.vectors is not None else None,
        country=pick(cat.country, r),
    )


def concat(a: Catalogue, b: Catalogue) -> Catalogue:
    if len(b) == 0:
        return a
    if len(a) == 0:
        return b
    vec = None
    if a.vectors is not None or b.vectors is not None:
        dim = (a.vectors if a.vectors is not None else b.vectors).shape[1]  # type: ignore[union-attr]
        va = a.vectors if a.vectors is not None else np.zeros((len(a), dim), np.float32)
        vb = b.vectors if b.vectors is not None else np.zeros((len(b), dim), np.float32)
        vec = np.vstack([va, vb])
    return Catalogue(
        ids=np.concatenate([a.ids, b.ids]), author=np.concatenate([a.author, b.author]),
        sound=np.concatenate([a.sound, b.sound]), language=a.language + b.language,
        published=np.concatenate([a.published, b.published]),
        duration=np.concatenate([a.duration, b.duration]),
        views=np.concatenate([a.views, b.views]), likes=np.concatenate([a.likes, b.likes]),
        comments=np.concatenate([a.comments, b.comments]),
        shares=np.concatenate([a.shares, b.shares]),
        impressions=np.concatenate([a.impressions, b.impressions]),
        completions=np.concatenate([a.completions, b.completions]),
        trend=np.concatenate([a.trend, b.trend]),
        new_creator=np.concatenate([a.new_creator, b.new_creator]),
        hashtags=a.hashtags + b.hashtags, vectors=vec,
        restricted=np.concatenate([a.restricted, b.restricted])  # type: ignore[list-item]
        if a.restricted is not None and b.restricted is not None else None,
        country=a.country + b.country,
    )


def coengaged_scores(table: dict[int, tuple[np.ndarray, np.ndarray]], positives: list[int],
                     *, take_n: int | None = None) -> dict[int, float]:
    """Post id -> score: the co-engagement neighbours of the viewer's positives (most
    recent first), each weighted by its similarity and by how recent the positive is."""
    if not table or not positives:
        return {}
    take_n = QUOTAS["coengaged"] if take_n is None else take_n
    ids: list[np.ndarray] = []
    weighted: list[np.ndarray] = []
    for i, pid in enumerate(positives[:SEQUENCE_READ]):
        found = table.get(pid)
        if found is None or not len(found[0]):
            continue
        ids.append(np.asarray(found[0], dtype=np.int64))
        # float64, as the sum of Python floats it replaced (the same values, in the same
        # order: np.add.at adds in the order of the neighbours).
        weighted.append(0.5 ** (i / SEQUENCE_HALF_LIFE) * found[1].astype(np.float64))
    if not ids:
        return {}
    flat = np.concatenate(ids)
    # Each neighbour once, in order of first appearance (ties keep that order, as before).
    uniq, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    # bincount adds in input order too (what np.add.at did), at a fraction of its cost.
    sums = np.bincount(inverse, weights=np.concatenate(weighted), minlength=len(uniq))
    order = np.argsort(first, kind="stable")
    uniq, sums = uniq[order], sums[order]
    mine = ~np.isin(uniq, np.asarray(positives, dtype=np.int64))
    uniq, sums = uniq[mine], sums[mine]
    best = np.argsort(-sums, kind="stable")[:take_n]
    return dict(zip(uniq[best].tolist(), sums[best].tolist(), strict=True))


def session_vector(cf_items: dict[int, np.ndarray], positives: list[int]) -> np.ndarray | None:
    """The mean ALS item factors of the last few positives (most recent first): a user
    vector that follows the event stream between nightly trainings."""
    items = [cf_items[p] for p in positives[:SESSION_LEN] if p in cf_items]
    if not items:
        return None
    out: np.ndarray = np.mean(np.vstack(items), axis=0).astype(np.float32)
    return out


def restrict(cs: CandidateSet, rows: np.ndarray) -> CandidateSet:
    """The candidate set's rows `rows` (positions), in that order."""
    return CandidateSet(cat=take(cs.cat, rows), src=cs.src[rows], text_sim=cs.text_sim[rows],
                        cf=cs.cf[rows],
                        session_sim=cs.session_sim[rows] if cs.session_sim is not None
                        else None,
                        co=cs.co[rows] if cs.co is not None else None)


def eligible_unseen(cs: CandidateSet, ctx: ViewerContext, seen: set[int]) -> np.ndarray:
    """Which candidates may be scored at all: not seen (the seen-sets' answer), not served
    on an earlier page of this cursor, not marked "not interested", not already liked or
    completed, not the viewer's own, not age-restricted for a minor. Runs before the
    pre-rank, so the ranker's work goes to posts the page can show (the gate in SQL still
    runs on the shortlist: visibility, blocks, mutes, limited reach)."""
    return _admissible(cs.cat.ids, cs.cat.author, cs.cat.restricted, ctx, seen)


def _admissible(ids: np.ndarray, author: np.ndarray, restricted: np.ndarray | None,
                ctx: ViewerContext, seen: set[int]) -> np.ndarray:
    """`eligible_unseen`'s rule over columns (ids, authors, age restriction)."""
    blocked = seen | ctx.exclude | ctx.ni_posts | set(ctx.positives)
    keep = ~np.isin(ids, np.fromiter(blocked, np.int64, count=len(blocked))) if blocked \
        else np.ones(len(ids), dtype=bool)
    if ctx.user_id is not None:
        keep &= author != ctx.user_id
    if not ctx.adult and restricted is not None:
        keep &= ~restricted
    return keep


def union(proposed: list[np.ndarray], bits: list[int], n: int) -> tuple[np.ndarray,
                                                                        np.ndarray]:
    """The rows the sources proposed (`proposed[i]`, rows of a catalogue of n, proposed by
    the source with flag `bits[i]`), each once in the order of its first proposal, with
    the OR of the flags of every source that proposed it."""
    if not proposed:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    every = np.concatenate(proposed)
    dense = np.zeros(n, dtype=np.int64)
    for rows_of, bit in zip(proposed, bits, strict=True):
        # One flag per source: a repeated row ORs the same value (no ufunc.at needed).
        dense[rows_of] |= bit
    rows_sorted, first = np.unique(every, return_index=True)
    rows = rows_sorted[np.argsort(first, kind="stable")]
    return rows, dense[rows]


@dataclass
class Proposals:
    """Each source's proposals over the pooled catalogue, in the order the sources are
    asked (one entry per hashtag or sound for the per-key sources), and the similarity
    scores they measured over every pooled row."""

    rows: list[np.ndarray]
    sources: list[str]
    text_sim: np.ndarray
    cf: np.ndarray
    session_sim: np.ndarray


def propose(pools: Pools, ctx: ViewerContext, *, cf_items: np.ndarray | None = None,
            coengaged: dict[int, float] | None = None, session: np.ndarray | None = None,
            quotas: dict[str, int] | None = None) -> Proposals:
    """What each source proposes from the pools (rows of `pools.catalogue`), at most
    `quotas[source]` rows each (QUOTAS by default). The offline bench asks it with large
    quotas to measure each source's recall at every depth."""
    q = QUOTAS if quotas is None else quotas
    cat = pools.catalogue
    n = len(cat)
    proposed: list[np.ndarray] = []
    names: list[str] = []

    def add(rows: np.ndarray | list[int], source: str) -> None:
        arr = np.asarray(rows, dtype=np.int64)[: q[source]]
        if len(arr):
            proposed.append(arr)
            names.append(source)

    add(pools.fresh, "explore")
    if ctx.language and ctx.language in pools.by_language:
        add(pools.by_language[ctx.language], "language")
    if ctx.country and ctx.country in pools.by_region:
        add(pools.by_region[ctx.country], "region")
    for tag in ctx.interest_tags:
        if tag in pools.by_hashtag:
            add(pools.by_hashtag[tag], "interest")
    # The same hashtags and sounds as the positives: the source's quota is shared among
    # them by how often each occurs there (at least SOUND_TAG_MIN each).
    keyed = [(pools.by_hashtag[tag], c) for tag, c in ctx.positive_tags.most_common(8)
             if tag in pools.by_hashtag]
    keyed += [(pools.by_sound[sound], c) for sound, c in ctx.positive_sounds.most_common(4)
              if sound in pools.by_sound]
    weight = sum(c for _, c in keyed)
    for rows, c in keyed:
        add(rows[: max(SOUND_TAG_MIN, round(q["sound_tag"] * c / weight))], "sound_tag")
    text_sim_pool = np.zeros(n, dtype=np.float32)
    if ctx.profile is not None and cat.vectors is not None and n:
        text_sim_pool = cat.vectors @ ctx.profile
        add(top_k(text_sim_pool, q["similar"]), "similar")
    cf_pool = np.zeros(n, dtype=np.float32)
    if ctx.cf_user is not None and cf_items is not None and n:
        cf_pool = (cf_items @ ctx.cf_user).astype(np.float32)
        add(top_k(cf_pool, q["collab"]), "collab")
    session_pool = np.zeros(n, dtype=np.float32)
    if session is not None and cf_items is not None and n:
        session_pool = (cf_items @ session).astype(np.float32)
        add(top_k(session_pool, q["session"]), "session")
    if coengaged:
        index = cat.index
        add([index[p] for p in coengaged if p in index], "coengaged")
    if ctx.follows and n:
        mine = np.flatnonzero(np.isin(cat.author, np.fromiter(ctx.follows, np.int64)))
        add(mine[np.argsort(-cat.published[mine])], "followed")
    # Trending first, taking its quota or, for a viewer the personal sources know little
    # about (cold start), the rest of the candidate budget.
    ranked = np.asarray(pools.trending, dtype=np.int64)
    trending = ranked[: q["trending"]]
    others = np.unique(np.concatenate([*proposed, trending]))
    if len(others) < CANDIDATE_BUDGET and len(ranked) > len(trending):
        rest = ranked[len(trending):]
        rest = rest[~np.isin(rest, others)][: CANDIDATE_BUDGET - len(others)]
        trending = np.concatenate([trending, rest])
    if len(trending):
        proposed.insert(0, trending)
        names.insert(0, "trending")
    return Proposals(proposed, names, text_sim_pool, cf_pool, session_pool)


def within_budget(proposed: list[np.ndarray], n: int, budget: int) -> list[np.ndarray]:
    """The proposals cut to at most `budget` distinct rows (of a catalogue of n), keeping
    the rows best placed in some source relative to its length (each source's top rows
    first, whatever its quota), each source's order kept."""
    if not proposed:
        return proposed
    every = np.concatenate(proposed)
    if len(every) <= budget:
        return proposed
    present = np.zeros(n, dtype=bool)
    present[every] = True
    if int(np.count_nonzero(present)) <= budget:
        return proposed
    # Each row's best relative place is its first in (place, row) order; rows are kept by
    # that place, ties by row (a sort of the proposals, not a scatter into every row).
    rel = np.concatenate([np.arange(len(a)) / len(a) for a in proposed])
    ordered = every[np.lexsort((every, rel))]
    _, first = np.unique(ordered, return_index=True)
    first.sort()
    keep = np.zeros(n, dtype=bool)
    keep[ordered[first[:budget]]] = True
    return [a[keep[a]] for a in proposed]


def generate(pools: Pools, ctx: ViewerContext, *, followed: Catalogue | None = None,
             similar: Catalogue | None = None, similar_sims: dict[int, float] | None = None,
             cf_items: np.ndarray | None = None, coengaged: dict[int, float] | None = None,
             coengaged_extra: Catalogue | None = None,
             session: np.ndarray | None = None,
             seen: Callable[[list[int]], set[int]] | None = None) -> CandidateSet:
    """Union of every source over the pooled catalogue plus the per-viewer extras
    (`followed`: followed creators' recent posts; `similar`: pgvector neighbours outside
    the pools; `coengaged_extra`: co-engaged posts outside the pools). `cf_items` are the
    pooled rows' collaborative factors (the active model's); `coengaged` the co-engaged
    post ids with their scores; `session` the session vector in the same space.

    With `seen` (which of these post ids the viewer has seen; asked once, about every
    proposed post), only the eligible unseen candidates are built (`eligible_unseen`'s
    rule on the proposals' ids, before their metadata is gathered) and `proposed` holds
    the ids of every proposal; without it, every proposal is a candidate."""
    cat = pools.catalogue
    n = len(cat)
    # Each source's rows, in the order the sources are asked; a row proposed by several
    # keeps the place of its first proposal and the flags of all (numpy, not a dict).
    props = propose(pools, ctx, cf_items=cf_items, coengaged=coengaged, session=session)
    proposed = within_budget(props.rows, n, CANDIDATE_BUDGET)
    proposed_bits = [1 << SRC[name] for name in props.sources]
    text_sim_pool, cf_pool, session_pool = props.text_sim, props.cf, props.session_sim

    pooled_rows, src_bits = union(proposed, proposed_bits, n)
    pooled_ids = cat.ids[pooled_rows]
    position = dict(zip(pooled_ids.tolist(), range(len(pooled_rows)), strict=True))
    taken = set(position)
    # The extras' posts not pooled (each once): (catalogue, its rows, source, text sims).
    chunks: list[tuple[Catalogue, np.ndarray, str, np.ndarray]] = []
    for extra, source in ((followed, "followed"), (similar, "similar"),
                          (coengaged_extra, "coengaged")):
        if extra is None or len(extra) == 0:
            continue
        extra_ids = extra.ids.tolist()
        new = np.array([i for i, pid in enumerate(extra_ids) if pid not in taken],
                       dtype=np.int64)
        # Already-pooled posts proposed again by this source get its flag too.
        for pid in extra_ids:
            row = position.get(pid)
            if row is not None:
                src_bits[row] |= 1 << SRC[source]
        if len(new) == 0:
            continue
        new_ids = extra.ids[new].tolist()
        taken.update(new_ids)
        sim = np.zeros(len(new), dtype=np.float32)
        if source == "similar" and similar_sims:
            sim = np.array([similar_sims.get(int(p), 0.0) for p in new_ids], dtype=np.float32)
        chunks.append((extra, new, source, sim))
    every_ids = np.concatenate([pooled_ids, *(extra.ids[new] for extra, new, _, _ in chunks)])
    pooled_keep: np.ndarray | None = None
    keeps: list[np.ndarray | None] = [None] * len(chunks)
    if seen is not None:
        seen_ids = seen(every_ids.tolist()) if len(every_ids) else set()
        mask = _admissible(
            every_ids,
            np.concatenate([cat.author[pooled_rows],
                            *(extra.author[new] for extra, new, _, _ in chunks)]),
            np.concatenate([cat.restricted[pooled_rows],  # type: ignore[index]
                            *(extra.restricted[new]  # type: ignore[index]
                              for extra, new, _, _ in chunks)]),
            ctx, seen_ids)
        bounds = np.cumsum([len(pooled_rows), *(len(new) for _, new, _, _ in chunks)])
        pooled_keep = np.flatnonzero(mask[: bounds[0]])
        keeps = [np.flatnonzero(mask[a:b]) for a, b in pairwise(bounds.tolist())]
        pooled_rows, src_bits = pooled_rows[pooled_keep], src_bits[pooled_keep]
    # The candidates need no text vectors past this point (their similarity is measured).
    merged = take(cat, pooled_rows, vectors=False)
    bits = [src_bits]
    sims = [text_sim_pool[pooled_rows]]
    cfs = [cf_pool[pooled_rows]]
    sessions = [session_pool[pooled_rows]]
    for (extra, new, source, sim), keep in zip(chunks, keeps, strict=True):
        if keep is not None:
            new, sim = new[keep], sim[keep]
        if len(new) == 0:
            continue
        merged = concat(merged, take(extra, new, vectors=False))
        bits.append(np.full(len(new), 1 << SRC[source], dtype=np.int64))
        sims.append(sim)
        cfs.append(np.zeros(len(new), dtype=np.float32))
        sessions.append(np.zeros(len(new), dtype=np.float32))
    all_bits = np.concatenate(bits)
    src = ((all_bits[:, None] >> np.arange(len(SOURCES))) & 1).astype(np.uint8)
    co = np.fromiter(map(coengaged.get, merged.ids.tolist(), repeat(0.0)), dtype=np.float32,
                     count=len(merged)) if coengaged else np.zeros(len(merged), dtype=np.float32)
    return CandidateSet(cat=merged, src=src, text_sim=np.concatenate(sims),
                        cf=np.concatenate(cfs), session_sim=np.concatenate(sessions), co=co,
                        proposed=every_ids if seen is not None else None)


def unproposed(pools: Pools, taken: np.ndarray, *, limit: int) -> tuple[np.ndarray,
                                                                        np.ndarray]:
    """Up to `limit` pooled rows whose posts are not in `taken` (post ids): trending's
    order first, then the fresh pool's, then the rest of the pooled catalogue; with each
    row's source flag (trending for trending's rows, explore for the fresh pool's and the
    rest: they are not trending, and the ranker reads the flags)."""
    cat = pools.catalogue
    trending = np.asarray(pools.trending, dtype=np.int64)
    fresh = np.asarray(pools.fresh, dtype=np.int64)
    order = np.concatenate([trending, fresh, np.arange(len(cat), dtype=np.int64)])
    bits = np.concatenate([np.full(len(trending), 1 << SRC["trending"], dtype=np.int64),
                           np.full(len(fresh), 1 << SRC["explore"], dtype=np.int64),
                           np.full(len(cat), 1 << SRC["explore"], dtype=np.int64)])
    _, first = np.unique(order, return_index=True)
    first.sort()
    order, bits = order[first], bits[first]
    left = ~np.isin(cat.ids[order], taken)
    return order[left][:limit], bits[left][:limit]


def pooled_candidates(pools: Pools, rows: np.ndarray, bits: np.ndarray, ctx: ViewerContext, *,
                      cf_items: np.ndarray | None = None,
                      session: np.ndarray | None = None) -> CandidateSet:
    """Pooled rows as candidates with the similarities the sources would have measured
    (text, collaborative, session; no co-engagement: no source proposed them)."""
    cat = pools.catalogue
    m = len(rows)
    text_sim = (cat.vectors[rows] @ ctx.profile).astype(np.float32) \
        if ctx.profile is not None and cat.vectors is not None and m \
        else np.zeros(m, dtype=np.float32)
    cf = (cf_items[rows] @ ctx.cf_user).astype(np.float32) \
        if ctx.cf_user is not None and cf_items is not None and m \
        else np.zeros(m, dtype=np.float32)
    session_sim = (cf_items[rows] @ session).astype(np.float32) \
        if session is not None and cf_items is not None and m \
        else np.zeros(m, dtype=np.float32)
    src = ((bits[:, None] >> np.arange(len(SOURCES))) & 1).astype(np.uint8)
    return CandidateSet(cat=take(cat, rows, vectors=False), src=src, text_sim=text_sim,
                        cf=cf, session_sim=session_sim, co=np.zeros(m, dtype=np.float32))


def extend(a: CandidateSet, b: CandidateSet) -> CandidateSet:
    """The candidates of a, then those of b (no post in both)."""
    if len(b) == 0:
        return a

    def col(x: np.ndarray | None, n: int) -> np.ndarray:
        return x if x is not None else np.zeros(n, dtype=np.float32)

    return CandidateSet(cat=concat(a.cat, b.cat), src=np.vstack([a.src, b.src]),
                        text_sim=np.concatenate([a.text_sim, b.text_sim]),
                        cf=np.concatenate([a.cf, b.cf]),
                        session_sim=np.concatenate([col(a.session_sim, len(a)),
                                                    col(b.session_sim, len(b))]),
                        co=np.concatenate([col(a.co, len(a)), col(b.co, len(b))]))
