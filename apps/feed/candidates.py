"""Stage 1 of For You: candidate generation from several sources.

Sources (bit flags on each candidate, kept for the ranker and the explanation):
followed creators' recent posts; trending (time-decayed engagement velocity); similar to
what the viewer completed (text embeddings: pgvector nearest neighbours plus the pooled
matrix; collaborative ALS factors); the same sound and hashtags as recent completions;
the viewer's language and region (popular posts by creators in their country); onboarding
interests; and an exploration pool of new posts and new creators. Pure functions over the
cached pools and a `ViewerContext`: the database reads that feed them live in `serving`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from apps.feed.pools import Catalogue, Pools, top_k

SOURCES = ("followed", "trending", "similar", "sound_tag", "language", "explore", "interest",
           "collab", "region")
SRC = {name: i for i, name in enumerate(SOURCES)}
TRENDING_TAKE = 400
SIMILAR_TAKE = 150
COLLAB_TAKE = 150
SOUND_TAG_TAKE = 40
LANGUAGE_TAKE = 200
REGION_TAKE = 150
EXPLORE_TAKE = 200
INTEREST_TAKE = 60
FOLLOWED_TAKE = 200


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

    def __len__(self) -> int:
        return len(self.cat)


def take(cat: Catalogue, rows: np.ndarray, *, vectors: bool = True) -> Catalogue:
    r = rows.tolist()
    return Catalogue(
        ids=cat.ids[rows], author=cat.author[rows], sound=cat.sound[rows],
        language=[cat.language[i] for i in r], published=cat.published[rows],
        duration=cat.duration[rows], views=cat.views[rows], likes=cat.likes[rows],
        comments=cat.comments[rows], shares=cat.shares[rows],
        impressions=cat.impressions[rows], completions=cat.completions[rows],
        trend=cat.trend[rows], new_creator=cat.new_creator[rows],
        hashtags=[cat.hashtags[i] for i in r],
        restricted=cat.restricted[rows] if cat.restricted is not None else None,
        vectors=cat.vectors[rows] if vectors and cat.vectors is not None else None,
        country=[cat.country[i] for i in r],
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


def generate(pools: Pools, ctx: ViewerContext, *, followed: Catalogue | None = None,
             similar: Catalogue | None = None, similar_sims: dict[int, float] | None = None,
             cf_items: np.ndarray | None = None) -> CandidateSet:
    """Union of every source over the pooled catalogue plus the per-viewer extras
    (`followed`: followed creators' recent posts; `similar`: pgvector neighbours outside
    the pools). `cf_items` are the pooled rows' collaborative factors (the active model's)."""
    cat = pools.catalogue
    n = len(cat)
    flags: dict[int, int] = {}

    def add(rows: np.ndarray | list[int], source: str) -> None:
        bit = 1 << SRC[source]
        for row in (rows.tolist() if isinstance(rows, np.ndarray) else rows):
            flags[row] = flags.get(row, 0) | bit

    add(pools.trending[:TRENDING_TAKE], "trending")
    add(pools.fresh[:EXPLORE_TAKE], "explore")
    if ctx.language and ctx.language in pools.by_language:
        add(pools.by_language[ctx.language][:LANGUAGE_TAKE], "language")
    if ctx.country and ctx.country in pools.by_region:
        add(pools.by_region[ctx.country][:REGION_TAKE], "region")
    for tag in ctx.interest_tags:
        if tag in pools.by_hashtag:
            add(pools.by_hashtag[tag][:INTEREST_TAKE], "interest")
    for tag, _ in ctx.positive_tags.most_common(8):
        if tag in pools.by_hashtag:
            add(pools.by_hashtag[tag][:SOUND_TAG_TAKE], "sound_tag")
    for sound, _ in ctx.positive_sounds.most_common(4):
        if sound in pools.by_sound:
            add(pools.by_sound[sound][:SOUND_TAG_TAKE], "sound_tag")
    text_sim_pool = np.zeros(n, dtype=np.float32)
    if ctx.profile is not None and cat.vectors is not None and n:
        text_sim_pool = cat.vectors @ ctx.profile
        add(top_k(text_sim_pool, SIMILAR_TAKE), "similar")
    cf_pool = np.zeros(n, dtype=np.float32)
    if ctx.cf_user is not None and cf_items is not None and n:
        cf_pool = (cf_items @ ctx.cf_user).astype(np.float32)
        add(top_k(cf_pool, COLLAB_TAKE), "collab")
    if ctx.follows and n:
        mine = np.flatnonzero(np.isin(cat.author, np.fromiter(ctx.follows, np.int64)))
        add(mine[np.argsort(-cat.published[mine])][:FOLLOWED_TAKE], "followed")

    pooled_rows = np.fromiter(flags.keys(), dtype=np.int64, count=len(flags))
    src_bits = np.fromiter(flags.values(), dtype=np.int64, count=len(flags))
    # The candidates need no text vectors past this point (their similarity is measured).
    parts = [take(cat, pooled_rows, vectors=False)]
    bits = [src_bits]
    sims = [text_sim_pool[pooled_rows]]
    cfs = [cf_pool[pooled_rows]]
    seen_ids = set(parts[0].ids.tolist())
    for extra, source in ((followed, "followed"), (similar, "similar")):
        if extra is None or len(extra) == 0:
            continue
        new = np.array([i for i, pid in enumerate(extra.ids.tolist()) if pid not in seen_ids],
                       dtype=np.int64)
        # Already-pooled posts proposed again by this source get its flag too.
        again = [parts[0].index[pid] for pid in extra.ids.tolist() if pid in parts[0].index]
        for row in again:
            bits[0][row] |= 1 << SRC[source]
        if len(new) == 0:
            continue
        chunk = take(extra, new, vectors=False)
        seen_ids.update(chunk.ids.tolist())
        parts.append(chunk)
        bits.append(np.full(len(new), 1 << SRC[source], dtype=np.int64))
        sim = np.zeros(len(new), dtype=np.float32)
        if source == "similar" and similar_sims:
            sim = np.array([similar_sims.get(int(p), 0.0) for p in chunk.ids.tolist()],
                           dtype=np.float32)
        sims.append(sim)
        cfs.append(np.zeros(len(new), dtype=np.float32))
    merged = parts[0]
    for part in parts[1:]:
        merged = concat(merged, part)
    all_bits = np.concatenate(bits)
    src = ((all_bits[:, None] >> np.arange(len(SOURCES))) & 1).astype(np.uint8)
    return CandidateSet(cat=merged, src=src, text_sim=np.concatenate(sims),
                        cf=np.concatenate(cfs))
