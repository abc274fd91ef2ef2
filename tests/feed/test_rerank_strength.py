"""Re-ranking's strength (issue 21): freshness is a bounded nudge on the ranker's order,
and the arranged page keeps its diversity rules and exploration slots whatever the
nudge. Pure functions over a synthetic candidate set; no database."""

from __future__ import annotations

import numpy as np

from apps.feed import rerank
from apps.feed.candidates import SOURCES, SRC, CandidateSet, ViewerContext
from apps.feed.pools import Catalogue

NOW = 1_800_000_000.0
HOUR = 3600.0


def candidates(
    n: int,
    *,
    ages_h: np.ndarray,
    authors: np.ndarray,
    sounds: np.ndarray,
    tags: list[tuple[str, ...]],
    explore: np.ndarray | None = None,
) -> CandidateSet:
    f32 = np.float32
    cat = Catalogue(
        ids=np.arange(1, n + 1, dtype=np.int64),
        author=authors.astype(np.int64),
        sound=sounds.astype(np.int64),
        language=["en"] * n,
        published=NOW - ages_h * HOUR,
        duration=np.full(n, 20.0, f32),
        views=np.full(n, 100.0, f32),
        likes=np.zeros(n, f32),
        comments=np.zeros(n, f32),
        shares=np.zeros(n, f32),
        impressions=np.full(n, 10.0, f32),
        completions=np.full(n, 3.0, f32),
        trend=np.zeros(n, f32),
        new_creator=np.zeros(n, bool),
        hashtags=tags,
    )
    src = np.zeros((n, len(SOURCES)), dtype=np.uint8)
    if explore is not None:
        src[explore, SRC["explore"]] = 1
    return CandidateSet(cat=cat, src=src, text_sim=np.zeros(n, f32), cf=np.zeros(n, f32))


def test_freshness_nudges_the_order_within_its_bound_and_fades_with_age() -> None:
    rng = np.random.default_rng(3)
    n = 400
    ages = rng.uniform(0, 240, n)
    cs = candidates(n, ages_h=ages, authors=np.arange(n) + 100, sounds=np.zeros(n), tags=[()] * n)
    base = rng.uniform(0.2, 1.5, n).astype(np.float32)
    adj = rerank.adjust(cs, base, ViewerContext(user_id=1), seen=set(), now=NOW)
    ratio = adj.scores / (base + 1e-3)
    # Never more than the boost, never less than nothing, and halved every half-life.
    assert np.all(ratio <= 1.0 + rerank.FRESH_BOOST + 1e-5)
    assert np.all(ratio >= 1.0 - 1e-5)
    expected = 1.0 + rerank.FRESH_BOOST * 0.5 ** (ages / rerank.FRESH_HALF_LIFE_H)
    np.testing.assert_allclose(ratio, expected, rtol=1e-5)
    # A new post overtakes an old one only when the ranker's scores are within the boost.
    order = np.argsort(-adj.scores)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    shifted = base + 1e-3
    for a in range(0, n, 7):
        for b in range(1, n, 11):
            if shifted[a] > shifted[b] * (1.0 + rerank.FRESH_BOOST):
                assert pos[a] < pos[b]


def test_the_arranged_page_keeps_the_diversity_rules_and_the_exploration_slots() -> None:
    # The best-scored posts crowd one creator, one sound and one hashtag; exploration
    # rows (new, unscored by the model) sit below every ranked row.
    n = 120
    authors = np.where(np.arange(n) < 30, 7, 100 + np.arange(n) % 40)
    sounds = np.where(np.arange(n) < 50, 5, 10 + np.arange(n) % 25)
    tags: list[tuple[str, ...]] = [("dance",) if i < 60 else (f"t{i % 9}",) for i in range(n)]
    explore = np.arange(100, n)
    cs = candidates(
        n, ages_h=np.linspace(1, 200, n), authors=authors, sounds=sounds, tags=tags, explore=explore
    )
    base = np.linspace(2.0, 0.5, n).astype(np.float32)
    base[explore] = 0.0
    ctx = ViewerContext(user_id=1)
    adj = rerank.adjust(cs, base, ctx, seen=set(), now=NOW)
    rng = np.random.default_rng(4)
    limit = 16
    rows, draws = rerank.shortlist(cs, adj, limit=limit, rng=rng)
    page = rerank.arrange(cs, adj, rows, limit=limit, draws=draws)
    assert len(page) == limit
    chosen = [r for r, _ in page]
    page_authors = [int(cs.cat.author[r]) for r in chosen]
    for i in range(len(page_authors)):
        window = page_authors[i : i + rerank.CREATOR_WINDOW]
        assert len(window) == len(set(window)), page_authors
    sound_counts = np.bincount([int(cs.cat.sound[r]) for r in chosen])
    assert sound_counts[1:].max() <= rerank.SOUND_CAP
    assert sum("dance" in cs.cat.hashtags[r] for r in chosen) <= rerank.HASHTAG_CAP
    slots = [info["slot"] for _, info in page]
    assert "relaxed caps" not in slots
    for i, slot in enumerate(slots):
        assert (slot == "explore") == (i % 8 in rerank.EXPLORE_POSITIONS), slots
    # The ranked rows are filled from the ranker's order (deeper rows where a rule
    # skips one), not from the exploration pool.
    assert all(r not in set(explore.tolist()) for r, info in page if info["slot"] == "ranked")
