"""Drawing the global pools over a catalogue: trending, fresh and new creators
(exploration), per language, region, hashtag and sound; only the rows some pool uses are
kept."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

import numpy as np

from apps.feed import interactions
from apps.feed.pools.catalogue import Catalogue, Pools, top_k
from apps.feed.pools.queries import meta_rows, recommendable_posts

TRENDING_SIZE = 2000
FRESH_SIZE = 1000
LANGUAGE_SIZE = 500
REGION_SIZE = 500
HASHTAG_SIZE = 200
SOUND_SIZE = 100
MAX_HASHTAG_POOLS = 1000
FRESH_WINDOW = timedelta(hours=48)
# Trending widens its window (1 h, then 24 h, then 7 days) until this many posts (or the
# whole catalogue) had engagement in it; candidates take up to this many.
TRENDING_ENOUGH = 400


def trending_rows(cat: Catalogue, size: int = TRENDING_SIZE) -> tuple[np.ndarray, str]:
    """The trending pool's rows, best first, and the window it was drawn from: the
    narrowest window in which enough posts had engagement (a quiet catalogue widens to a
    day, then a week). Posts with engagement in that window come first by it; the rest
    follow by the counters' engagement per age (`trend`), then newest first — never by
    arbitrary ties between zero scores."""
    n = len(cat)
    names = [name for name, _, _ in interactions.TRENDING_WINDOWS]
    windows = cat.trend_windows
    if windows is None or windows.shape != (n, len(names)):
        # No per-window engagement (a catalogue built without the aggregates): the
        # single time-decayed score is the only window.
        windows, names = cat.trend[:, None], ["trend"]
    enough = min(TRENDING_ENOUGH, n)
    chosen = len(names) - 1
    for j in range(len(names)):
        if int((windows[:, j] > 0).sum()) >= enough:
            chosen = j
            break
    score = windows[:, chosen]
    # lexsort: the last key is the primary one.
    order = np.lexsort((-cat.published, -cat.trend, -score))
    return order[:size].astype(np.int64), names[chosen]


def _top(rows: np.ndarray, score: np.ndarray, size: int) -> np.ndarray:
    rows = rows.astype(np.int64)
    out: np.ndarray = rows[top_k(score[rows], size)]
    return out


def build() -> Pools:
    """Read the catalogue and draw the pools (the task's work; also the no-Redis path)."""
    now = time.time()
    rows = meta_rows(recommendable_posts())
    stats = interactions.post_stats([r["id"] for r in rows])
    return draw(Catalogue.from_rows(rows, stats=stats, now=now), now=now)


def draw(cat: Catalogue, *, now: float) -> Pools:
    """The pools over a catalogue, restricted to the rows some pool uses."""
    n = len(cat)
    all_rows = np.arange(n, dtype=np.int64)
    trending, trending_window = trending_rows(cat)
    fresh_cut = now - FRESH_WINDOW.total_seconds()
    fresh_rows = all_rows[(cat.published >= fresh_cut) | cat.new_creator]
    fresh = _top(fresh_rows, cat.published.astype(np.float32), FRESH_SIZE)
    popularity = np.log1p(cat.views + 5 * cat.likes) + 0.5 * np.log1p(cat.trend * 100)
    by_lang: dict[str, list[int]] = defaultdict(list)
    by_region: dict[str, list[int]] = defaultdict(list)
    by_tag: dict[str, list[int]] = defaultdict(list)
    by_sound: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        if cat.language[i]:
            by_lang[cat.language[i]].append(i)
        if cat.country[i]:
            by_region[cat.country[i]].append(i)
        for tag in cat.hashtags[i]:
            by_tag[tag].append(i)
        if cat.sound[i]:
            by_sound[int(cat.sound[i])].append(i)
    biggest_tags = sorted(by_tag, key=lambda t: -len(by_tag[t]))[:MAX_HASHTAG_POOLS]
    biggest_sounds = sorted(by_sound, key=lambda s: -len(by_sound[s]))[:MAX_HASHTAG_POOLS]
    pools = Pools(
        stamp=f"{now:.3f}",
        catalogue=cat,
        trending=trending,
        fresh=fresh,
        by_language={k: _top(np.array(v), popularity, LANGUAGE_SIZE) for k, v in by_lang.items()},
        by_hashtag={k: _top(np.array(by_tag[k]), popularity, HASHTAG_SIZE) for k in biggest_tags},
        by_sound={k: _top(np.array(by_sound[k]), popularity, SOUND_SIZE)
                  for k in biggest_sounds},
        by_region={k: _top(np.array(v), popularity, REGION_SIZE) for k, v in by_region.items()},
        trending_window=trending_window,
    )
    keep = _pooled_rows(pools)
    return _restrict(pools, keep)


def _pooled_rows(pools: Pools) -> np.ndarray:
    parts = [pools.trending, pools.fresh, *pools.by_language.values(),
             *pools.by_region.values(),
             *pools.by_hashtag.values(), *pools.by_sound.values()]
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(parts))


def _restrict(pools: Pools, keep: np.ndarray) -> Pools:
    """Keep only the catalogue rows some pool uses, renumbering the pools."""
    cat = pools.catalogue
    remap = np.full(len(cat), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    small = Catalogue(
        ids=cat.ids[keep], author=cat.author[keep], sound=cat.sound[keep],
        language=[cat.language[i] for i in keep.tolist()], published=cat.published[keep],
        duration=cat.duration[keep], views=cat.views[keep], likes=cat.likes[keep],
        comments=cat.comments[keep], shares=cat.shares[keep],
        impressions=cat.impressions[keep], completions=cat.completions[keep],
        trend=cat.trend[keep], new_creator=cat.new_creator[keep],
        hashtags=[cat.hashtags[i] for i in keep.tolist()],
        restricted=cat.restricted[keep] if cat.restricted is not None else None,
        country=[cat.country[i] for i in keep.tolist()],
    )
    return Pools(
        stamp=pools.stamp, catalogue=small, trending=remap[pools.trending],
        fresh=remap[pools.fresh],
        by_language={k: remap[v] for k, v in pools.by_language.items()},
        by_hashtag={k: remap[v] for k, v in pools.by_hashtag.items()},
        by_sound={k: remap[v] for k, v in pools.by_sound.items()},
        by_region={k: remap[v] for k, v in pools.by_region.items()},
        trending_window=pools.trending_window,
    )
